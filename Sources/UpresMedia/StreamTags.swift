import CFFmpeg

/// Copies stream tags; drops mkvmerge's statistics tags that describe the old encoding.
public enum StreamTags {
    static func copy(from ist: UnsafeMutablePointer<AVStream>, to ost: UnsafeMutablePointer<AVStream>,
                     dropEncodingStatistics: Bool) {
        av_dict_copy(&ost.pointee.metadata, ist.pointee.metadata, 0)
        guard dropEncodingStatistics else { return }
        for key in ["BPS", "BPS-eng", "NUMBER_OF_FRAMES", "NUMBER_OF_FRAMES-eng", "NUMBER_OF_BYTES",
                    "NUMBER_OF_BYTES-eng", "_STATISTICS_WRITING_APP", "_STATISTICS_WRITING_APP-eng",
                    "_STATISTICS_WRITING_DATE_UTC", "_STATISTICS_WRITING_DATE_UTC-eng", "_STATISTICS_TAGS",
                    "_STATISTICS_TAGS-eng", "DURATION", "DURATION-eng", "encoder", "ENCODER"] {
            av_dict_set(&ost.pointee.metadata, key, nil, 0)
        }
    }
}
