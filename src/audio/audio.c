/* audio.c — owns turning an input file into mono float PCM at the engine's rate. FFmpeg's
 * libraries demux and decode whatever container/codec the file holds; libswresample downmixes and
 * resamples every decoded frame as it arrives, so memory holds only the output. The input is read
 * as exactly one local file: playlists and anything a demuxer would open besides it are refused.
 * Each failure maps to one audio_rc (a stable job Code) plus a one-line reason, and FFmpeg's own
 * chatter is routed to our debug log instead of stderr. */
#include "audio/audio.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SAMPLE_RATE 16000
#define DEFAULT_MAX_DURATION_MS (5LL * 3600 * 1000)
/* A file whose format FFmpeg guessed this weakly (e.g. random bytes that happen to contain an MP3
 * sync word) is not treated as media. Real files score far higher (by header or by extension). */
#define MIN_PROBE_SCORE (AVPROBE_SCORE_MAX / 4)

audio_params audio_default_params(void)
{
    return (audio_params){.sample_rate = DEFAULT_SAMPLE_RATE, .max_duration_ms = DEFAULT_MAX_DURATION_MS};
}

void audio_pcm_free(audio_pcm *p)
{
    if (!p)
        return;
    free(p->samples);
    *p = (audio_pcm){0};
}

const char *audio_rc_code(audio_rc rc)
{
    switch (rc) {
    case AUDIO_OK: return "Success";
    case AUDIO_OPEN_FAILED: return "InputOpenFailed";
    case AUDIO_NOT_AUDIO: return "InputNotAudio";
    case AUDIO_DECODE_FAILED: return "AudioDecodeFailed";
    case AUDIO_EMPTY: return "AudioEmpty";
    case AUDIO_TOO_LONG: return "AudioTooLong";
    }
    return "AudioDecodeFailed";
}

/* ---- FFmpeg logging -> our debug log ---- */

static void ffmpeg_log_callback(void *avcl, int level, const char *fmt, va_list ap)
{
    (void)avcl;
    if (level > av_log_get_level())
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len > 0)
        log_debug("ffmpeg: %s", line);
}

static void install_ffmpeg_logging(void)
{
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(ffmpeg_log_callback);
}

static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;

/* ---- decoding state ---- */

typedef struct decode_ctx {
    AVIOContext *io;              /* ours (custom I/O): closed after the format context */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream_index;
    AVFrame *frame;
    AVPacket *pkt;

    SwrContext *swr;              /* configured for the input described below */
    AVChannelLayout swr_layout;
    int swr_rate;
    int swr_format;

    int out_rate;
    size_t max_samples;
    float *out;                   /* decoded samples not yet handed out: out[rpos..n) */
    size_t n, cap;
    size_t rpos;
    size_t produced;              /* all samples decoded so far (the length limit applies to it) */
    bool eof;                     /* container read to its end and decoder/resampler drained */
    int read_error;
    long bad_packets;             /* packets the decoder rejected (corrupt data) */
    long good_frames;
} decode_ctx;


static const char *av_err_text(int code, char *buf, size_t len)
{
    av_strerror(code, buf, len);
    return buf;
}

static void decode_ctx_free(decode_ctx *c)
{
    swr_free(&c->swr);
    av_channel_layout_uninit(&c->swr_layout);
    av_frame_free(&c->frame);
    av_packet_free(&c->pkt);
    avcodec_free_context(&c->dec);
    avformat_close_input(&c->fmt);
    avio_closep(&c->io);
    free(c->out);
    c->out = NULL;
}

/* ---- opening ---- */

/* Access problems are told apart from content problems before FFmpeg sees the file, so that any
 * later open failure can be blamed on the content. */
static audio_rc check_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err_printf(err, errlen, "cannot open input: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return AUDIO_OPEN_FAILED;
    }
    close(fd);
    if (S_ISDIR(st.st_mode)) {
        err_printf(err, errlen, "cannot open input: it is a directory");
        return AUDIO_OPEN_FAILED;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        err_printf(err, errlen, "input file is empty (0 bytes)");
        return AUDIO_EMPTY;
    }
    return AUDIO_OK;
}

/* Demuxers whose files name other files or URLs (playlists, manifests, concat lists). An uploaded
 * one must not make the server read its neighbours' files or fetch URLs. */
static bool references_other_inputs(const AVInputFormat *f)
{
    static const char *const refused[] = {"concat", "hls", "dash", "imf"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (strcmp(f->name, refused[i]) == 0)
            return true;
    return false;
}

/* Every nested open a demuxer attempts (HLS segments, MOV references, ...) is refused: a job's
 * input is exactly one local file. */
static int refuse_nested_open(AVFormatContext *s, AVIOContext **pb, const char *url, int flags, AVDictionary **opts)
{
    (void)s;
    (void)pb;
    (void)flags;
    (void)opts;
    log_debug("ffmpeg: refused to open %s, referenced from inside the input", url);
    return AVERROR(EPERM);
}

static audio_rc open_container(decode_ctx *c, const char *path, char *err, size_t errlen)
{
    char why[128], url[4200];
    snprintf(url, sizeof url, "file:%s", path);   /* never another protocol, whatever the name */
    AVDictionary *io_opts = NULL;
    av_dict_set(&io_opts, "protocol_whitelist", "file", 0);
    int rc = avio_open2(&c->io, url, AVIO_FLAG_READ, NULL, &io_opts);
    av_dict_free(&io_opts);
    if (rc < 0) {
        err_printf(err, errlen, "cannot open input: %s", av_err_text(rc, why, sizeof why));
        return AUDIO_OPEN_FAILED;
    }
    const AVInputFormat *format = NULL;
    int score = av_probe_input_buffer2(c->io, &format, path, NULL, 0, 0);
    if (score < 0 || !format) {
        err_printf(err, errlen, "input is not a recognised audio or video file (%s)",
                score < 0 ? av_err_text(score, why, sizeof why) : "unknown format");
        return AUDIO_NOT_AUDIO;
    }
    if (score < MIN_PROBE_SCORE) {
        err_printf(err, errlen, "input is not a recognised audio or video file (weak %s guess)", format->name);
        return AUDIO_NOT_AUDIO;
    }
    if (references_other_inputs(format)) {
        err_printf(err, errlen, "input is a %s playlist or manifest, not an audio file", format->name);
        return AUDIO_NOT_AUDIO;
    }
    c->fmt = avformat_alloc_context();
    if (!c->fmt) {
        err_printf(err, errlen, "out of memory opening the input");
        return AUDIO_OPEN_FAILED;
    }
    c->fmt->pb = c->io;
    c->fmt->io_open = refuse_nested_open;
    rc = avformat_open_input(&c->fmt, url, format, NULL);   /* frees c->fmt on failure */
    if (rc == AVERROR(ENOMEM)) {
        err_printf(err, errlen, "out of memory opening the input");
        return AUDIO_OPEN_FAILED;
    }
    if (rc < 0) {
        err_printf(err, errlen, "input is not a readable %s file (%s)", format->name, av_err_text(rc, why, sizeof why));
        return AUDIO_NOT_AUDIO;
    }
    rc = avformat_find_stream_info(c->fmt, NULL);
    if (rc < 0) {
        err_printf(err, errlen, "cannot read %s stream information: %s", c->fmt->iformat->name,
                av_err_text(rc, why, sizeof why));
        return AUDIO_DECODE_FAILED;
    }
    return AUDIO_OK;
}

static audio_rc open_decoder(decode_ctx *c, char *err, size_t errlen)
{
    char why[128];
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(c->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (idx == AVERROR_STREAM_NOT_FOUND) {
        err_printf(err, errlen, "input (%s) has no audio stream", c->fmt->iformat->name);
        return AUDIO_NOT_AUDIO;
    }
    if (idx == AVERROR_DECODER_NOT_FOUND || (idx >= 0 && !codec)) {
        err_printf(err, errlen, "no decoder for the input's audio codec");
        return AUDIO_DECODE_FAILED;
    }
    if (idx < 0) {
        err_printf(err, errlen, "cannot select an audio stream: %s", av_err_text(idx, why, sizeof why));
        return AUDIO_DECODE_FAILED;
    }
    c->stream_index = idx;
    c->dec = avcodec_alloc_context3(codec);
    if (!c->dec) {
        err_printf(err, errlen, "out of memory allocating the %s decoder", codec->name);
        return AUDIO_DECODE_FAILED;
    }
    int rc = avcodec_parameters_to_context(c->dec, c->fmt->streams[idx]->codecpar);
    if (rc >= 0)
        rc = avcodec_open2(c->dec, codec, NULL);
    if (rc < 0) {
        err_printf(err, errlen, "cannot open the %s decoder: %s", codec->name, av_err_text(rc, why, sizeof why));
        return AUDIO_DECODE_FAILED;
    }
    /* Only the chosen stream matters; let the demuxer drop the others cheaply. */
    for (unsigned i = 0; i < c->fmt->nb_streams; i++)
        if ((int)i != idx)
            c->fmt->streams[i]->discard = AVDISCARD_ALL;
    c->frame = av_frame_alloc();
    c->pkt = av_packet_alloc();
    if (!c->frame || !c->pkt) {
        err_printf(err, errlen, "out of memory allocating decoder buffers");
        return AUDIO_DECODE_FAILED;
    }
    return AUDIO_OK;
}

/* ---- resampling ---- */

static void frame_layout(const AVFrame *f, AVChannelLayout *out)
{
    if (f->ch_layout.nb_channels > 0 && f->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_copy(out, &f->ch_layout);
    else
        av_channel_layout_default(out, f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : 1);
}

static void reserve_output(decode_ctx *c, size_t extra)
{
    if (c->n + extra <= c->cap)
        return;
    size_t cap = c->cap ? c->cap : 16384;
    while (cap < c->n + extra)
        cap *= 2;
    c->out = xrealloc(c->out, cap * sizeof *c->out);
    c->cap = cap;
}

/* Lossy codecs (MP3, AAC) overshoot full scale slightly; callers are promised [-1,1]. */
static void clamp_unit(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
}

/* Converts `in` (or flushes the resampler when in == NULL) and appends to the output. */
static audio_rc convert_into_output(decode_ctx *c, const AVFrame *in, char *err, size_t errlen)
{
    int in_count = in ? in->nb_samples : 0;
    int room = swr_get_out_samples(c->swr, in_count);
    if (room < 0) {
        err_printf(err, errlen, "resampler failed to size its output");
        return AUDIO_DECODE_FAILED;
    }
    reserve_output(c, (size_t)room + 1);
    uint8_t *dst = (uint8_t *)(c->out + c->n);
    int got = swr_convert(c->swr, &dst, room + 1, in ? (const uint8_t **)in->extended_data : NULL, in_count);
    if (got < 0) {
        char why[128];
        err_printf(err, errlen, "resampling failed: %s", av_err_text(got, why, sizeof why));
        return AUDIO_DECODE_FAILED;
    }
    clamp_unit(c->out + c->n, (size_t)got);
    c->n += (size_t)got;
    c->produced += (size_t)got;
    if (c->produced > c->max_samples) {
        err_printf(err, errlen, "audio is longer than the %lld ms limit",
                (long long)((int64_t)c->max_samples * 1000 / c->out_rate));
        return AUDIO_TOO_LONG;
    }
    return AUDIO_OK;
}

static bool resampler_matches(const decode_ctx *c, const AVFrame *f, const AVChannelLayout *layout)
{
    return c->swr && c->swr_rate == f->sample_rate && c->swr_format == f->format &&
           av_channel_layout_compare(&c->swr_layout, layout) == 0;
}

/* (Re)creates the resampler for the frame's format; a mid-stream change flushes the old one first. */
static audio_rc ensure_resampler(decode_ctx *c, const AVFrame *f, char *err, size_t errlen)
{
    AVChannelLayout layout = {0};
    frame_layout(f, &layout);
    if (resampler_matches(c, f, &layout)) {
        av_channel_layout_uninit(&layout);
        return AUDIO_OK;
    }
    if (c->swr) {
        audio_rc rc = convert_into_output(c, NULL, err, errlen);
        swr_free(&c->swr);
        if (rc != AUDIO_OK) {
            av_channel_layout_uninit(&layout);
            return rc;
        }
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    int rc = swr_alloc_set_opts2(&c->swr, &mono, AV_SAMPLE_FMT_FLT, c->out_rate, &layout,
                                 (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    if (rc >= 0)
        rc = swr_init(c->swr);
    if (rc < 0) {
        char why[128];
        err_printf(err, errlen, "cannot convert %d Hz %d-channel %s audio: %s", f->sample_rate,
                layout.nb_channels, av_get_sample_fmt_name((enum AVSampleFormat)f->format),
                av_err_text(rc, why, sizeof why));
        av_channel_layout_uninit(&layout);
        return AUDIO_DECODE_FAILED;
    }
    av_channel_layout_uninit(&c->swr_layout);
    c->swr_layout = layout;
    c->swr_rate = f->sample_rate;
    c->swr_format = f->format;
    return AUDIO_OK;
}

/* ---- the decode loop ---- */

static audio_rc receive_frames(decode_ctx *c, char *err, size_t errlen)
{
    for (;;) {
        int rc = avcodec_receive_frame(c->dec, c->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return AUDIO_OK;
        if (rc < 0) {
            c->bad_packets++;   /* a corrupt frame: skip it, keep what decodes */
            return AUDIO_OK;
        }
        audio_rc arc = AUDIO_OK;
        if (c->frame->nb_samples > 0 && c->frame->sample_rate > 0) {
            arc = ensure_resampler(c, c->frame, err, errlen);
            if (arc == AUDIO_OK)
                arc = convert_into_output(c, c->frame, err, errlen);
            c->good_frames++;
        }
        av_frame_unref(c->frame);
        if (arc != AUDIO_OK)
            return arc;
    }
}

static audio_rc send_and_receive(decode_ctx *c, const AVPacket *pkt, char *err, size_t errlen)
{
    int rc = avcodec_send_packet(c->dec, pkt);
    if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
        c->bad_packets++;
    return receive_frames(c, err, errlen);
}

/* Reads one packet and decodes it; at the end of the container drains decoder and resampler and
 * sets eof. */
static audio_rc pump_one_packet(decode_ctx *c, char *err, size_t errlen)
{
    int rc = av_read_frame(c->fmt, c->pkt);
    if (rc < 0) {
        if (rc != AVERROR_EOF)
            c->read_error = rc;   /* truncated/corrupt container: keep what was read */
        c->eof = true;
        audio_rc arc = send_and_receive(c, NULL, err, errlen);   /* drain the decoder */
        if (arc == AUDIO_OK && c->swr)
            arc = convert_into_output(c, NULL, err, errlen);     /* drain the resampler */
        return arc;
    }
    audio_rc arc = AUDIO_OK;
    if (c->pkt->stream_index == c->stream_index)
        arc = send_and_receive(c, c->pkt, err, errlen);
    av_packet_unref(c->pkt);
    return arc;
}

/* Once everything is decoded: was it audio at all, and mostly intact? */
static audio_rc final_checks(const decode_ctx *c, char *err, size_t errlen)
{
    if (c->produced == 0) {
        char why[128];
        if (c->bad_packets > 0 || c->read_error < 0) {
            err_printf(err, errlen, "audio stream could not be decoded (%ld corrupt packets%s%s)", c->bad_packets,
                    c->read_error < 0 ? "; read error: " : "",
                    c->read_error < 0 ? av_err_text(c->read_error, why, sizeof why) : "");
            return AUDIO_DECODE_FAILED;
        }
        err_printf(err, errlen, "audio stream holds no samples");
        return AUDIO_EMPTY;
    }
    if (c->good_frames == 0 || c->bad_packets > c->good_frames) {
        err_printf(err, errlen, "audio stream is mostly corrupt (%ld bad packets, %ld good frames)",
                c->bad_packets, c->good_frames);
        return AUDIO_DECODE_FAILED;
    }
    return AUDIO_OK;
}

static audio_rc validate_params(const audio_params *p, char *err, size_t errlen)
{
    if (p->sample_rate < 1000 || p->sample_rate > 192000) {
        err_printf(err, errlen, "unsupported output sample rate %d", p->sample_rate);
        return AUDIO_DECODE_FAILED;
    }
    if (p->max_duration_ms <= 0) {
        err_printf(err, errlen, "max_duration_ms must be positive");
        return AUDIO_DECODE_FAILED;
    }
    return AUDIO_OK;
}

static size_t max_samples_for(const audio_params *p)
{
    if (p->max_duration_ms > INT64_MAX / p->sample_rate)
        return SIZE_MAX;
    return (size_t)(p->max_duration_ms * p->sample_rate / 1000);
}

struct audio_reader {
    decode_ctx c;
    int rate;
    bool checked;                 /* final_checks ran */
};

audio_rc audio_open(const char *path, const audio_params *p, audio_reader **out, char *err, size_t errlen)
{
    audio_params defaults = audio_default_params();
    if (!p)
        p = &defaults;
    *out = NULL;
    err_printf(err, errlen, "%s", "");
    pthread_once(&g_log_once, install_ffmpeg_logging);
    audio_rc rc = validate_params(p, err, errlen);
    if (rc == AUDIO_OK)
        rc = check_file(path, err, errlen);
    if (rc != AUDIO_OK)
        return rc;
    audio_reader *r = xcalloc(1, sizeof *r);
    r->c = (decode_ctx){.stream_index = -1, .out_rate = p->sample_rate, .max_samples = max_samples_for(p)};
    r->rate = p->sample_rate;
    rc = open_container(&r->c, path, err, errlen);
    if (rc == AUDIO_OK)
        rc = open_decoder(&r->c, err, errlen);
    if (rc != AUDIO_OK) {
        audio_close(r);
        return rc;
    }
    *out = r;
    return AUDIO_OK;
}

/* Moves the unread samples to the front so the buffer never grows past one read's worth. */
static void compact(decode_ctx *c)
{
    if (c->rpos == 0)
        return;
    memmove(c->out, c->out + c->rpos, (c->n - c->rpos) * sizeof *c->out);
    c->n -= c->rpos;
    c->rpos = 0;
}

audio_rc audio_read(audio_reader *r, float *dst, size_t max, size_t *got, char *err, size_t errlen)
{
    decode_ctx *c = &r->c;
    *got = 0;
    compact(c);
    while (c->n < max && !c->eof) {
        audio_rc rc = pump_one_packet(c, err, errlen);
        if (rc != AUDIO_OK)
            return rc;
    }
    if (c->eof && !r->checked) {
        r->checked = true;
        audio_rc rc = final_checks(c, err, errlen);
        if (rc != AUDIO_OK)
            return rc;
    }
    size_t n = c->n < max ? c->n : max;
    memcpy(dst, c->out, n * sizeof *dst);
    c->rpos = n;
    *got = n;
    return AUDIO_OK;
}

int64_t audio_reader_duration_ms(const audio_reader *r)
{
    return (int64_t)(r->c.produced - (r->c.n - r->c.rpos)) * 1000 / r->rate;
}

void audio_close(audio_reader *r)
{
    if (!r)
        return;
    decode_ctx_free(&r->c);
    free(r);
}

audio_rc audio_decode_file(const char *path, const audio_params *p, audio_pcm *out, char *err, size_t errlen)
{
    *out = (audio_pcm){0};
    audio_reader *r;
    audio_rc rc = audio_open(path, p, &r, err, errlen);
    if (rc != AUDIO_OK)
        return rc;
    size_t cap = 1 << 16, n = 0, got;
    float *all = xmalloc(cap * sizeof *all);
    do {
        if (cap - n < (1 << 15)) {
            cap *= 2;
            all = xrealloc(all, cap * sizeof *all);
        }
        rc = audio_read(r, all + n, cap - n, &got, err, errlen);
        n += got;
    } while (rc == AUDIO_OK && got > 0);
    if (rc == AUDIO_OK) {
        out->samples = all;
        out->n = n;
        out->sample_rate = r->rate;
        out->duration_ms = (int64_t)n * 1000 / r->rate;
    } else {
        free(all);
    }
    audio_close(r);
    return rc;
}
