public enum ContainerTraits {
    /// Containers that store attachments (fonts) as streams.
    public static func holdsAttachments(_ muxer: String) -> Bool { muxer == "matroska" }
}
