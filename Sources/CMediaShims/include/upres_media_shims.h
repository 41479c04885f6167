// C shims for FFmpeg macros, variadics and struct fields that Swift cannot import (see the
// shared stack notes). Static inline, so edits rebuild dependents; the log trampoline is in log.c.
#ifndef UPRES_MEDIA_SHIMS_H
#define UPRES_MEDIA_SHIMS_H

#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <locale.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libswscale/swscale.h>
#include <libavcodec/bsf.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersrc.h>
#include <libavfilter/buffersink.h>

// ---------------------------------------------------------------- FFmpeg error codes
// AVERROR() / AVERROR_EOF are function-like or FFERRTAG macros: not importable.
static inline int upres_averror(int e) { return AVERROR(e); }
static const int UPRES_AVERROR_EOF = AVERROR_EOF;
static const int UPRES_AVERROR_EAGAIN = AVERROR(EAGAIN);
static const int UPRES_AVERROR_INVALIDDATA = AVERROR_INVALIDDATA;
static const int UPRES_AVERROR_DECODER_NOT_FOUND = AVERROR_DECODER_NOT_FOUND;
static const int UPRES_AVERROR_ENCODER_NOT_FOUND = AVERROR_ENCODER_NOT_FOUND;
static const int UPRES_AVERROR_MUXER_NOT_FOUND = AVERROR_MUXER_NOT_FOUND;
static const int UPRES_AVERROR_STREAM_NOT_FOUND = AVERROR_STREAM_NOT_FOUND;
static const int64_t UPRES_AV_NOPTS_VALUE = AV_NOPTS_VALUE;

// av_err2str is a compound-literal macro: write into a caller buffer instead.
static inline void upres_av_strerror(int code, char *buf, size_t size) {
    av_make_error_string(buf, size, code);
}

static inline AVRational upres_av_time_base_q(void) { return (AVRational){1, AV_TIME_BASE}; }

// ---------------------------------------------------------------- pooled frame buffers
// A frame's planes in one buffer: rows and planes 64-byte aligned (AVX-512 loads), two rows of
// slack per plane for SIMD over-reads. Palette, bitstream and hardware formats are not laid out
// here (the caller allocates those as usual). Returns the buffer size in bytes, or < 0.
static inline int64_t upres_frame_layout(int w, int h, enum AVPixelFormat fmt, int linesizes[4], int64_t offsets[4]) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    if (!d || (d->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_HWACCEL))) return AVERROR(EINVAL);
    int ret = av_image_fill_linesizes(linesizes, fmt, FFALIGN(w, 64));
    if (ret < 0) return ret;
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        offsets[i] = 0;
        if (!linesizes[i]) continue;
        linesizes[i] = FFALIGN(linesizes[i], 64);
        int rows = (i == 1 || i == 2) ? -((-h) >> d->log2_chroma_h) : h;
        offsets[i] = total;
        total = FFALIGN(total + (int64_t)linesizes[i] * (rows + 2), 64);
    }
    return total + 64;   // room to align the start
}

// Gives `f` (width, height and format set) the planes of a buffer from `pool`, laid out by
// upres_frame_layout. The buffer goes back to the pool when the frame's last reference goes.
static inline int upres_frame_attach_pooled(AVFrame *f, AVBufferPool *pool, const int linesizes[4], const int64_t offsets[4]) {
    AVBufferRef *b = av_buffer_pool_get(pool);
    if (!b) return AVERROR(ENOMEM);
    size_t pad = (64 - ((uintptr_t)b->data & 63)) & 63;
    f->buf[0] = b;
    for (int i = 0; i < 4; i++) {
        f->linesize[i] = linesizes[i];
        f->data[i] = linesizes[i] ? b->data + pad + offsets[i] : NULL;
    }
    f->extended_data = f->data;
    return 0;
}

// ---------------------------------------------------------------- AVFrame plane access
// AVFrame.data / linesize import as 8-tuples; index them here.
static inline uint8_t *upres_frame_data(const AVFrame *f, int plane) { return f->data[plane]; }
static inline int upres_frame_linesize(const AVFrame *f, int plane) { return f->linesize[plane]; }

// key_frame became a flag in FFmpeg 6.1.
static inline int upres_frame_is_key(const AVFrame *f) {
#ifdef AV_FRAME_FLAG_KEY
    return (f->flags & AV_FRAME_FLAG_KEY) != 0;
#else
    return f->key_frame;
#endif
}

// Frame duration: pkt_duration in FFmpeg 5.1, duration from 6.0 on.
static inline int64_t upres_frame_duration(const AVFrame *f) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    return f->duration;
#else
    return f->pkt_duration;
#endif
}
static inline void upres_frame_set_duration(AVFrame *f, int64_t d) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    f->duration = d;
#else
    f->pkt_duration = d;
#endif
}

static inline int upres_packet_is_key(const AVPacket *p) { return (p->flags & AV_PKT_FLAG_KEY) != 0; }

// ---------------------------------------------------------------- streams and chapters
// Copy every chapter (with its metadata) from one container to another.
// Returns 0 or a negative AVERROR.
static inline int upres_copy_chapters(AVFormatContext *out, const AVFormatContext *in) {
    if (in->nb_chapters == 0) return 0;
    AVChapter **list = av_calloc(in->nb_chapters, sizeof(*list));
    if (!list) return AVERROR(ENOMEM);
    for (unsigned i = 0; i < in->nb_chapters; i++) {
        const AVChapter *src = in->chapters[i];
        AVChapter *c = av_mallocz(sizeof(*c));
        if (!c) {
            for (unsigned j = 0; j < i; j++) { av_dict_free(&list[j]->metadata); av_free(list[j]); }
            av_free(list);
            return AVERROR(ENOMEM);
        }
        c->id = src->id;
        c->time_base = src->time_base;
        c->start = src->start;
        c->end = src->end;
        av_dict_copy(&c->metadata, src->metadata, 0);
        list[i] = c;
    }
    out->chapters = list;
    out->nb_chapters = in->nb_chapters;
    return 0;
}

// Copy stream-level side data that describes how to present the picture
// (rotation, stereo, spherical, HDR mastering / light level) and is independent
// of the codec bitstream. Returns 0 or a negative AVERROR.
static inline int upres_copy_presentation_side_data(AVStream *out, const AVStream *in) {
#if LIBAVFORMAT_VERSION_MAJOR < 61
    for (int i = 0; i < in->nb_side_data; i++) {
        const AVPacketSideData *sd = &in->side_data[i];
        switch (sd->type) {
        case AV_PKT_DATA_DISPLAYMATRIX:
        case AV_PKT_DATA_STEREO3D:
        case AV_PKT_DATA_SPHERICAL:
        case AV_PKT_DATA_MASTERING_DISPLAY_METADATA:
        case AV_PKT_DATA_CONTENT_LIGHT_LEVEL: {
            uint8_t *dst = av_stream_new_side_data(out, sd->type, sd->size);
            if (!dst) return AVERROR(ENOMEM);
            memcpy(dst, sd->data, sd->size);
            break;
        }
        default:
            break;
        }
    }
    return 0;
#else
    const AVPacketSideData *list = in->codecpar->coded_side_data;
    for (int i = 0; i < in->codecpar->nb_coded_side_data; i++) {
        const AVPacketSideData *sd = &list[i];
        switch (sd->type) {
        case AV_PKT_DATA_DISPLAYMATRIX:
        case AV_PKT_DATA_STEREO3D:
        case AV_PKT_DATA_SPHERICAL:
        case AV_PKT_DATA_MASTERING_DISPLAY_METADATA:
        case AV_PKT_DATA_CONTENT_LIGHT_LEVEL: {
            AVPacketSideData *d = av_packet_side_data_new(&out->codecpar->coded_side_data,
                                                          &out->codecpar->nb_coded_side_data,
                                                          sd->type, sd->size, 0);
            if (!d) return AVERROR(ENOMEM);
            memcpy(d->data, sd->data, sd->size);
            break;
        }
        default:
            break;
        }
    }
    return 0;
#endif
}

// Rotation in degrees (counter-clockwise, as av_display_rotation_get) from the
// stream's display matrix, or NaN when there is none.
static inline double upres_stream_rotation(const AVStream *st) {
#if LIBAVFORMAT_VERSION_MAJOR < 61
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
#else
    const AVPacketSideData *sd = av_packet_side_data_get(st->codecpar->coded_side_data,
                                                         st->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
    const uint8_t *m = sd ? sd->data : NULL;
#endif
    if (!m) return __builtin_nan("");
    return av_display_rotation_get((const int32_t *)m);
}

static inline int upres_format_needs_global_header(const AVFormatContext *oc) {
    return (oc->oformat->flags & AVFMT_GLOBALHEADER) != 0;
}
static inline int upres_format_is_nofile(const AVFormatContext *oc) {
    return (oc->oformat->flags & AVFMT_NOFILE) != 0;
}
static inline int upres_format_is_image2(const AVFormatContext *oc) {
    return strcmp(oc->oformat->name, "image2") == 0;
}
static inline void upres_codec_set_global_header(AVCodecContext *c) {
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
}

// Supported pixel formats of an encoder (AV_PIX_FMT_NONE terminated) or NULL.
static inline const enum AVPixelFormat *upres_codec_pix_fmts(const AVCodec *c) { return c->pix_fmts; }

// ---------------------------------------------------------------- logging
// av_log's callback is variadic (va_list): Swift cannot implement it, so a C
// trampoline formats each line and hands it to a plain callback (shims.c).
typedef void (*upres_log_sink)(int level, const char *line);
void upres_set_log_sink(upres_log_sink fn);


#endif
