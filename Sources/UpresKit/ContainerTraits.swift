enum ContainerTraits {
    /// Containers that store attachments (fonts) as streams.
    static func holdsAttachments(_ muxer: String) -> Bool { muxer == "matroska" }
}
