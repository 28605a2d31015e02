/* audio.c — owns turning an input file into mono float PCM at the engine's rate. FFmpeg's
 * libraries demux and decode whatever container/codec the file holds (or headerless s16le PCM when
 * the caller declares it; a declared container must agree with the content); libswresample downmixes (or picks one channel) and resamples each
 * decoded frame, a slice at a time, as the caller reads, so memory holds about one read's worth of
 * output whatever the file's length. Each resampler run is closed with exactly
 * round(in * out_rate / in_rate) samples, so the duration reported is the input's.
 * The input is read as exactly one local file: playlists and anything a demuxer would open besides
 * it are refused, and no header can make FFmpeg allocate an outsized block. Each failure maps to
 * one audio_rc (a stable job Code) plus a one-line reason, and FFmpeg's own chatter is routed to
 * our debug log instead of stderr. */
#include "audio/audio.h"

#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SAMPLE_RATE 16000
#define DEFAULT_MAX_DURATION_MS (5LL * 3600 * 1000)
#define DEFAULT_MAX_INPUT_BYTES (512LL << 20)
#define MIN_RATE 1000               /* output and declared raw rates */
#define MAX_RATE 192000
/* Input rates beyond any real recording (DXD is 384 kHz): a forged header's absurd rate would make
 * the resampler build filter tables of gigabytes (found by fuzzing a CRYO APC header). */
#define MAX_INPUT_RATE 768000
#define MAX_CHANNELS 64             /* libswresample's own limit */
#define FLUSH_CHUNK 4096
#define SLICE_OUTPUT 16384         /* output samples one decode step aims at (about 1 s) */
/* A file whose format FFmpeg guessed this weakly (e.g. random bytes that happen to contain an MP3
 * sync word) is not treated as media. Real files score far higher (by header or by extension). */
#define MIN_PROBE_SCORE (AVPROBE_SCORE_MAX / 4)

audio_params audio_default_params(void)
{
    return (audio_params){.sample_rate = DEFAULT_SAMPLE_RATE,
                          .max_duration_ms = DEFAULT_MAX_DURATION_MS,
                          .max_input_bytes = DEFAULT_MAX_INPUT_BYTES,
                          .channel = -1,
                          .raw_pcm = false,
                          .raw_rate = DEFAULT_SAMPLE_RATE,
                          .raw_channels = 1};
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
    case AUDIO_TRUNCATED: return "AudioTruncated";
    case AUDIO_EMPTY: return "AudioEmpty";
    case AUDIO_TOO_LONG: return "AudioTooLong";
    case AUDIO_INPUT_TOO_LARGE: return "InputTooLarge";
    case AUDIO_CHANNEL_MISSING: return "AudioChannelMissing";
    case AUDIO_FORMAT_MISMATCH: return "InputFormatMismatch";
    }
    return "AudioDecodeFailed";
}

/* ---- FFmpeg's process-wide settings: its log goes to ours, and its allocations are capped ---- */

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

/* FFmpeg trusts the sizes a file's header declares: a 150-byte forged WAV made its demuxer ask
 * for one 1.6 GB zeroed block (found by fuzzing). No real input needs a single block anywhere near
 * this cap (a 5-hour MP4's sample index is ~20 MB), so a larger request fails as ENOMEM. */
#define FFMPEG_MAX_BLOCK ((size_t)64 << 20)

static void configure_ffmpeg(void)
{
    av_log_set_level(AV_LOG_ERROR);
    av_log_set_callback(ffmpeg_log_callback);
    av_max_alloc(FFMPEG_MAX_BLOCK);
}

static pthread_once_t g_ffmpeg_once = PTHREAD_ONCE_INIT;

/* ---- decoding state ---- */

typedef struct decode_ctx {
    AVIOContext *io;              /* ours (custom I/O): closed after the format context */
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream_index;
    int in_channels;              /* the audio stream's channels; 0 until known */
    AVFrame *frame;               /* the frame being converted, when frame_pending */
    bool frame_pending;
    int frame_pos;                /* its samples already converted */
    AVPacket *pkt;
    bool draining;                /* the container is read; the decoder was told to drain */

    SwrContext *swr;              /* configured for the input described below */
    AVChannelLayout swr_layout;
    int swr_rate;
    int swr_format;
    int64_t seg_in, seg_out;      /* samples into / out of the current resampler run */

    int channel;                  /* -1: downmix; otherwise the one channel kept */
    bool raw;                     /* declared raw PCM: any bytes are samples, none are corrupt */
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
    int64_t declared_ms;          /* the stream's length as its container declares it; -1: none declared */
    int64_t wav_declared;         /* WAV: the data chunk's declared size in bytes (0: none declared) */
    int64_t wav_present;          /* WAV: the bytes the file holds from the data chunk's start */
} decode_ctx;

/* How much shorter than declared a stream may decode before it counts as truncated: encoder delay
 * and padding, and resampling, cost a few tens of milliseconds. */
#define TRUNCATION_SLACK_MS 250
#define TRUNCATION_SLACK_PERMILLE 10


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

/* Access problems and the size limit are told apart from content problems before FFmpeg sees the
 * file, so that any later open failure can be blamed on the content. */
static audio_rc check_file(const char *path, int64_t max_bytes, char *err, size_t errlen)
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
    if (S_ISREG(st.st_mode) && st.st_size > max_bytes) {
        err_printf(err, errlen, "input file is %lld bytes; the limit is %lld bytes", (long long)st.st_size,
                (long long)max_bytes);
        return AUDIO_INPUT_TOO_LARGE;
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

static audio_rc open_io(decode_ctx *c, const char *url, char *err, size_t errlen)
{
    AVDictionary *io_opts = NULL;
    av_dict_set(&io_opts, "protocol_whitelist", "file", 0);
    int rc = avio_open2(&c->io, url, AVIO_FLAG_READ, NULL, &io_opts);
    av_dict_free(&io_opts);
    if (rc < 0) {
        char why[128];
        err_printf(err, errlen, "cannot open input: %s", av_err_text(rc, why, sizeof why));
        return AUDIO_OPEN_FAILED;
    }
    return AUDIO_OK;
}

/* What the bytes are, by content (the path's extension only breaks ties). */
static audio_rc probe_format(decode_ctx *c, const char *path, const AVInputFormat **format, char *err, size_t errlen)
{
    char why[128];
    int score = av_probe_input_buffer2(c->io, format, path, NULL, 0, 0);
    if (score < 0 || !*format) {
        err_printf(err, errlen, "input is not a recognised audio or video file (%s)",
                score < 0 ? av_err_text(score, why, sizeof why) : "unknown format");
        return AUDIO_NOT_AUDIO;
    }
    if (score < MIN_PROBE_SCORE) {
        err_printf(err, errlen, "input is not a recognised audio or video file (weak %s guess)", (*format)->name);
        return AUDIO_NOT_AUDIO;
    }
    if (references_other_inputs(*format)) {
        err_printf(err, errlen, "input is a %s playlist or manifest, not an audio file", (*format)->name);
        return AUDIO_NOT_AUDIO;
    }
    return AUDIO_OK;
}

/* Declared raw PCM: FFmpeg's s16le demuxer, told the rate and channel count. */
static audio_rc raw_format(const audio_params *p, const AVInputFormat **format, AVDictionary **opts,
                           char *err, size_t errlen)
{
    *format = av_find_input_format("s16le");
    if (!*format) {
        err_printf(err, errlen, "this FFmpeg build has no s16le demuxer for raw PCM");
        return AUDIO_DECODE_FAILED;
    }
    AVChannelLayout layout = {0};
    char layout_name[64];
    av_channel_layout_default(&layout, p->raw_channels);
    av_channel_layout_describe(&layout, layout_name, sizeof layout_name);
    av_channel_layout_uninit(&layout);
    av_dict_set_int(opts, "sample_rate", p->raw_rate, 0);
    av_dict_set(opts, "ch_layout", layout_name, 0);
    return AUDIO_OK;
}

/* What a declared container may be: the FFmpeg demuxers that read it (the first opens it when the
 * content cannot be placed). The names are those the ASR service documents for Format. */
typedef struct declared_container {
    const char *name;
    const char *demuxers[2];
} declared_container;

static const declared_container DECLARED[] = {
    {"wav", {"wav"}},
    {"mp3", {"mp3"}},
    {"m4a", {"mov"}},
    {"aac", {"aac", "mov"}},   /* ADTS, or AAC in an MP4/M4A box */
    {"ogg-opus", {"ogg"}},
    {"amr", {"amr"}},
};

static const declared_container *find_declared(const char *name)
{
    for (size_t i = 0; name && i < sizeof DECLARED / sizeof DECLARED[0]; i++)
        if (strcasecmp(DECLARED[i].name, name) == 0)
            return &DECLARED[i];
    return NULL;
}

bool audio_container_known(const char *name)
{
    return find_declared(name) != NULL;
}

static bool declared_matches(const declared_container *d, const AVInputFormat *f)
{
    for (size_t i = 0; i < 2 && d->demuxers[i]; i++)
        if (av_find_input_format(d->demuxers[i]) == f)
            return true;
    return false;
}

/* A declared container: the content, when FFmpeg places it clearly, must be that container
 * (AUDIO_FORMAT_MISMATCH otherwise); content it cannot place is read with the declared demuxer. */
static audio_rc declared_format(decode_ctx *c, const char *path, const char *name, const AVInputFormat **format,
                                char *err, size_t errlen)
{
    const declared_container *d = find_declared(name);
    if (!d) {
        err_printf(err, errlen, "\"%s\" is not a container this decoder can be told to expect", name);
        return AUDIO_DECODE_FAILED;
    }
    const AVInputFormat *probed = NULL;
    int score = av_probe_input_buffer2(c->io, &probed, path, NULL, 0, 0);   /* rewinds c->io */
    if (score >= MIN_PROBE_SCORE && probed) {
        if (declared_matches(d, probed)) {
            *format = probed;
            return AUDIO_OK;
        }
        err_printf(err, errlen, "the input is %s, not the %s that Format declares", probed->long_name ? probed->long_name
                   : probed->name, d->name);
        return AUDIO_FORMAT_MISMATCH;
    }
    *format = av_find_input_format(d->demuxers[0]);
    if (!*format) {
        err_printf(err, errlen, "this FFmpeg build has no %s demuxer", d->demuxers[0]);
        return AUDIO_DECODE_FAILED;
    }
    log_debug("audio: content not recognised; opened as the declared %s", d->name);
    return AUDIO_OK;
}

/* How the bytes are read: as declared raw PCM, as a declared container, or as FFmpeg finds them. */
static audio_rc choose_format(decode_ctx *c, const char *path, const audio_params *p, const AVInputFormat **format,
                              AVDictionary **opts, char *err, size_t errlen)
{
    if (p->raw_pcm)
        return raw_format(p, format, opts, err, errlen);
    if (p->container)
        return declared_format(c, path, p->container, format, err, errlen);
    return probe_format(c, path, format, err, errlen);
}

/* The data chunk of a RIFF/WAVE header held in h[0..n): its offset and declared size; false when
 * h is not such a header or the chunk is not within it. FFmpeg's demuxer trims a data chunk that
 * runs past the end of the file to what is there, so a cut file looks whole to it: this is how we
 * tell. Chunks are walked by their sizes with 64-bit sums, so no size can overflow the walk. */
static bool wav_data_chunk(const unsigned char *h, size_t n, uint64_t *offset, uint32_t *size)
{
    if (n < 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
        return false;
    for (uint64_t pos = 12; pos + 8 <= n;) {
        const unsigned char *c = h + pos;
        uint32_t sz = (uint32_t)c[4] | (uint32_t)c[5] << 8 | (uint32_t)c[6] << 16 | (uint32_t)c[7] << 24;
        if (memcmp(c, "data", 4) == 0) {
            *offset = pos + 8;
            *size = sz;
            return true;
        }
        pos += 8 + (uint64_t)sz + (sz & 1);
    }
    return false;
}

#define WAV_HEADER_SCAN (64 * 1024)   /* how far into a WAV file the data chunk is looked for */

/* For a WAV input, what its data chunk declares and what the file holds (both 0 when unknown: no
 * header found, a streamed file's 0 or 0xFFFFFFFF size, or an unreadable file). */
static void wav_sizes(decode_ctx *c, const char *path)
{
    c->wav_declared = c->wav_present = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    unsigned char *h = malloc(WAV_HEADER_SCAN);
    ssize_t got = h && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? pread(fd, h, WAV_HEADER_SCAN, 0) : -1;
    close(fd);
    uint64_t offset;
    uint32_t size;
    if (got > 0 && wav_data_chunk(h, (size_t)got, &offset, &size) && size != 0 && size != 0xFFFFFFFFu &&
        offset <= (uint64_t)st.st_size) {
        c->wav_declared = size;
        c->wav_present = (int64_t)((uint64_t)st.st_size - offset);
    }
    free(h);
}

static audio_rc open_container(decode_ctx *c, const char *path, const audio_params *p, char *err, size_t errlen)
{
    char why[128], url[4200];
    snprintf(url, sizeof url, "file:%s", path);   /* never another protocol, whatever the name */
    audio_rc arc = open_io(c, url, err, errlen);
    const AVInputFormat *format = NULL;
    AVDictionary *opts = NULL;
    if (arc == AUDIO_OK)
        arc = choose_format(c, path, p, &format, &opts, err, errlen);
    if (arc != AUDIO_OK) {
        av_dict_free(&opts);
        return arc;
    }
    c->fmt = avformat_alloc_context();
    if (!c->fmt) {
        av_dict_free(&opts);
        err_printf(err, errlen, "out of memory opening the input");
        return AUDIO_OPEN_FAILED;
    }
    c->fmt->pb = c->io;
    c->fmt->io_open = refuse_nested_open;
    int rc = avformat_open_input(&c->fmt, url, format, &opts);   /* frees c->fmt on failure */
    av_dict_free(&opts);
    if (rc == AVERROR(ENOMEM)) {   /* nearly always a header declaring an outsized block */
        err_printf(err, errlen, "input is not a readable %s file (its headers ask for more memory than %zu MB "
                "in one block)", format->name, FFMPEG_MAX_BLOCK >> 20);
        return AUDIO_DECODE_FAILED;
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
    if (!c->raw && strcmp(c->fmt->iformat->name, "wav") == 0)
        wav_sizes(c, path);
    return AUDIO_OK;
}

/* A chosen channel must exist; `have` == 0 (not known yet) is checked again on the first frame. */
static audio_rc check_channel(const decode_ctx *c, int have, char *err, size_t errlen)
{
    if (c->channel < 0 || have <= 0 || c->channel < have)
        return AUDIO_OK;
    err_printf(err, errlen, "channel %d was asked for but the input has %d channel%s (numbered from 0)", c->channel,
            have, have == 1 ? "" : "s");
    return AUDIO_CHANNEL_MISSING;
}

/* The length a header states (a WAV data chunk's size, FLAC's sample count, an MP4 box, an MP3
 * Xing/Info frame), in ms; -1 when there is none, or only FFmpeg's guess from the bit rate, which
 * says nothing about whether the file is whole. */
static int64_t declared_length_ms(const AVFormatContext *fmt, const AVStream *st)
{
    if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE || st->duration == AV_NOPTS_VALUE ||
        st->duration <= 0)
        return -1;
    return av_rescale_q(st->duration, st->time_base, (AVRational){1, 1000});
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
    c->in_channels = c->dec->ch_layout.nb_channels;
    c->declared_ms = declared_length_ms(c->fmt, c->fmt->streams[idx]);
    audio_rc arc = check_channel(c, c->in_channels, err, errlen);
    if (arc != AUDIO_OK)
        return arc;
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

/* Lossy codecs (MP3, AAC) overshoot full scale slightly, and float decoders fed corrupt data can
 * emit NaN (found by fuzzing Nellymoser in FLV); callers are promised [-1,1]. */
static void clamp_unit(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = isnan(x[i]) ? 0.0f : x[i] > 1.0f ? 1.0f : x[i] < -1.0f ? -1.0f : x[i];
}

/* Counts `got` new samples written at out[n..) and applies the length limit. */
static audio_rc append_output(decode_ctx *c, size_t got, char *err, size_t errlen)
{
    clamp_unit(c->out + c->n, got);
    c->n += got;
    c->produced += got;
    c->seg_out += (int64_t)got;
    if (c->produced > c->max_samples) {
        err_printf(err, errlen, "audio is longer than the %lld ms limit",
                (long long)((int64_t)c->max_samples * 1000 / c->out_rate));
        return AUDIO_TOO_LONG;
    }
    return AUDIO_OK;
}

static audio_rc resampler_failed(int code, char *err, size_t errlen)
{
    char why[128];
    err_printf(err, errlen, "resampling failed: %s", av_err_text(code, why, sizeof why));
    return AUDIO_DECODE_FAILED;
}

/* round(seg_in * out_rate / in_rate), computed without overflow for any int rates. */
static int64_t segment_target(const decode_ctx *c)
{
    int64_t in_rate = c->swr_rate, whole = c->seg_in / in_rate, part = c->seg_in % in_rate;
    return whole * c->out_rate + (part * 2 * c->out_rate + in_rate) / (2 * in_rate);
}

/* The resampler's lag means it never runs ahead of the input, so an excess can only be in the
 * samples not handed out yet; those are dropped from the end. */
static void drop_unread_tail(decode_ctx *c, size_t k)
{
    size_t unread = c->n - c->rpos;
    if (k > unread)
        k = unread;
    c->n -= k;
    c->produced -= k;
}

/* Ends the current resampler run with exactly segment_target() samples: drains what the resampler
 * still holds up to that count, then pads with silence if it gave fewer (a few input samples can be
 * too short for its filter to emit anything) or drops an excess. */
static audio_rc finish_segment(decode_ctx *c, char *err, size_t errlen)
{
    int64_t missing = segment_target(c) - c->seg_out;
    while (missing > 0) {
        int want = missing < FLUSH_CHUNK ? (int)missing : FLUSH_CHUNK;
        reserve_output(c, (size_t)want);
        uint8_t *dst = (uint8_t *)(c->out + c->n);
        int got = swr_convert(c->swr, &dst, want, NULL, 0);
        if (got < 0)
            return resampler_failed(got, err, errlen);
        if (got == 0)
            break;
        audio_rc rc = append_output(c, (size_t)got, err, errlen);
        if (rc != AUDIO_OK)
            return rc;
        missing -= got;
    }
    if (missing > c->out_rate) {   /* far more than any filter's delay: never expected */
        err_printf(err, errlen, "resampler lost %lld samples", (long long)missing);
        return AUDIO_DECODE_FAILED;
    }
    audio_rc rc = AUDIO_OK;
    if (missing > 0) {
        reserve_output(c, (size_t)missing);
        memset(c->out + c->n, 0, (size_t)missing * sizeof *c->out);
        rc = append_output(c, (size_t)missing, err, errlen);
    } else if (missing < 0) {
        drop_unread_tail(c, (size_t)-missing);
    }
    c->seg_in = c->seg_out = 0;
    return rc;
}

static bool resampler_matches(const decode_ctx *c, const AVFrame *f, const AVChannelLayout *layout)
{
    return c->swr && c->swr_rate == f->sample_rate && c->swr_format == f->format &&
           av_channel_layout_compare(&c->swr_layout, layout) == 0;
}

/* Mixing matrix that keeps input channel `ch` alone (instead of swr's default downmix). */
static int keep_one_channel(SwrContext *swr, int ch, int nb_channels)
{
    double *matrix = xcalloc((size_t)nb_channels, sizeof *matrix);
    matrix[ch] = 1.0;
    int rc = swr_set_matrix(swr, matrix, nb_channels);
    free(matrix);
    return rc;
}

static audio_rc new_resampler(decode_ctx *c, const AVFrame *f, AVChannelLayout *layout, char *err, size_t errlen)
{
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    int rc = swr_alloc_set_opts2(&c->swr, &mono, AV_SAMPLE_FMT_FLT, c->out_rate, layout,
                                 (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    if (rc >= 0 && c->channel >= 0)
        rc = keep_one_channel(c->swr, c->channel, layout->nb_channels);
    if (rc >= 0)
        rc = swr_init(c->swr);
    if (rc < 0) {
        char why[128];
        err_printf(err, errlen, "cannot convert %d Hz %d-channel %s audio: %s", f->sample_rate,
                layout->nb_channels, av_get_sample_fmt_name((enum AVSampleFormat)f->format),
                av_err_text(rc, why, sizeof why));
        return AUDIO_DECODE_FAILED;
    }
    return AUDIO_OK;
}

/* (Re)creates the resampler for the frame's format; a mid-stream change finishes the old run first. */
static audio_rc ensure_resampler(decode_ctx *c, const AVFrame *f, char *err, size_t errlen)
{
    AVChannelLayout layout = {0};
    frame_layout(f, &layout);
    if (resampler_matches(c, f, &layout)) {
        av_channel_layout_uninit(&layout);
        return AUDIO_OK;
    }
    audio_rc rc = c->swr ? finish_segment(c, err, errlen) : AUDIO_OK;
    swr_free(&c->swr);
    if (rc == AUDIO_OK)
        rc = check_channel(c, layout.nb_channels, err, errlen);
    if (rc == AUDIO_OK && layout.nb_channels > MAX_CHANNELS) {
        err_printf(err, errlen, "audio with %d channels is not supported (at most %d)", layout.nb_channels,
                MAX_CHANNELS);
        rc = AUDIO_DECODE_FAILED;
    }
    if (rc == AUDIO_OK)
        rc = new_resampler(c, f, &layout, err, errlen);
    if (rc != AUDIO_OK) {
        swr_free(&c->swr);
        av_channel_layout_uninit(&layout);
        return rc;
    }
    av_channel_layout_uninit(&c->swr_layout);
    c->swr_layout = layout;
    c->swr_rate = f->sample_rate;
    c->swr_format = f->format;
    return AUDIO_OK;
}

/* ---- the decode loop ----
 * One decode_step at a time, each small enough that memory stays bounded whatever the input: it
 * converts the next slice of the current frame, or takes the next frame from the decoder, or feeds
 * the decoder the next packet, or (at the end) drains the decoder and closes the resampler run.
 * Frames are sliced so that even a huge frame at a tiny sample rate (which resampling would blow
 * up a thousandfold) is handed out in pieces of about SLICE_OUTPUT samples. */

static audio_rc convert_next_slice(decode_ctx *c, char *err, size_t errlen)
{
    AVFrame *f = c->frame;
    int64_t per_slice = (int64_t)SLICE_OUTPUT * f->sample_rate / c->out_rate;
    int left = f->nb_samples - c->frame_pos;
    int count = per_slice < 1 ? 1 : per_slice < left ? (int)per_slice : left;
    enum AVSampleFormat fmt = (enum AVSampleFormat)f->format;
    int channels = c->swr_layout.nb_channels, bytes = av_get_bytes_per_sample(fmt);
    const uint8_t *in[MAX_CHANNELS] = {0};
    if (av_sample_fmt_is_planar(fmt))
        for (int ch = 0; ch < channels; ch++)
            in[ch] = f->extended_data[ch] + (size_t)c->frame_pos * (size_t)bytes;
    else
        in[0] = f->extended_data[0] + (size_t)c->frame_pos * (size_t)bytes * (size_t)channels;
    int room = swr_get_out_samples(c->swr, count);
    if (room < 0)
        return resampler_failed(room, err, errlen);
    reserve_output(c, (size_t)room + 1);
    uint8_t *dst = (uint8_t *)(c->out + c->n);
    int got = swr_convert(c->swr, &dst, room + 1, in, count);
    if (got < 0)
        return resampler_failed(got, err, errlen);
    c->seg_in += count;
    c->frame_pos += count;
    if (c->frame_pos >= f->nb_samples) {
        av_frame_unref(f);
        c->frame_pending = false;
    }
    return append_output(c, (size_t)got, err, errlen);
}

/* A frame arrived: (re)configure the resampler for it; its samples are converted slice by slice. */
static audio_rc start_frame(decode_ctx *c, char *err, size_t errlen)
{
    if (c->frame->nb_samples <= 0 || c->frame->sample_rate <= 0) {
        av_frame_unref(c->frame);
        return AUDIO_OK;
    }
    if (c->in_channels <= 0)
        c->in_channels = c->frame->ch_layout.nb_channels;
    if (c->frame->sample_rate > MAX_INPUT_RATE) {
        err_printf(err, errlen, "unsupported input sample rate %d Hz (at most %d)", c->frame->sample_rate,
                MAX_INPUT_RATE);
        av_frame_unref(c->frame);
        return AUDIO_DECODE_FAILED;
    }
    c->good_frames++;
    audio_rc rc = ensure_resampler(c, c->frame, err, errlen);
    if (rc != AUDIO_OK) {
        av_frame_unref(c->frame);
        return rc;
    }
    c->frame_pending = true;
    c->frame_pos = 0;
    return AUDIO_OK;
}

static audio_rc finish_decoding(decode_ctx *c, char *err, size_t errlen)
{
    c->eof = true;
    return c->swr ? finish_segment(c, err, errlen) : AUDIO_OK;
}

/* Reads the next packet of our stream into the decoder; at the container's end (or a read error:
 * a truncated or corrupt container keeps what was read) tells the decoder to drain. */
static audio_rc feed_packet(decode_ctx *c, char *err, size_t errlen)
{
    if (c->draining)   /* a decoder that wants more after being drained: nothing more to give */
        return finish_decoding(c, err, errlen);
    int rc = av_read_frame(c->fmt, c->pkt);
    if (rc < 0) {
        if (rc != AVERROR_EOF)
            c->read_error = rc;
        c->draining = true;
        avcodec_send_packet(c->dec, NULL);
        return AUDIO_OK;
    }
    if (c->pkt->stream_index == c->stream_index) {
        rc = avcodec_send_packet(c->dec, c->pkt);
        if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
            c->bad_packets++;
    }
    av_packet_unref(c->pkt);
    return AUDIO_OK;
}

static audio_rc decode_step(decode_ctx *c, char *err, size_t errlen)
{
    if (c->frame_pending)
        return convert_next_slice(c, err, errlen);
    int rc = avcodec_receive_frame(c->dec, c->frame);
    if (rc == 0)
        return start_frame(c, err, errlen);
    if (rc == AVERROR_EOF)
        return finish_decoding(c, err, errlen);
    if (rc != AVERROR(EAGAIN))
        c->bad_packets++;   /* a corrupt frame: skip it, keep what decodes */
    return feed_packet(c, err, errlen);
}

/* A stream that ends well before the length its header declares was cut short (an upload or copy
 * that stopped): the job fails rather than succeed with part of the audio silently missing. A
 * container that declares no length (raw PCM, ADTS, a streamed WAV whose size fields are 0 or
 * 0xFFFFFFFF, an MP3 without a Xing frame) cannot be judged and keeps what decoded. */
static audio_rc truncation_check(const decode_ctx *c, char *err, size_t errlen)
{
    int64_t got_ms = (int64_t)(c->produced * 1000 / (size_t)c->out_rate);
    int64_t declared_ms = c->declared_ms;
    if (c->wav_declared > c->wav_present && c->wav_present > 0)   /* the bytes that are there decoded to got_ms */
        declared_ms = (int64_t)((double)c->produced * (double)c->wav_declared / (double)c->wav_present * 1000.0 /
                                c->out_rate + 0.5);
    if (c->raw || declared_ms <= 0)
        return AUDIO_OK;
    int64_t slack = declared_ms * TRUNCATION_SLACK_PERMILLE / 1000;
    if (slack < TRUNCATION_SLACK_MS)
        slack = TRUNCATION_SLACK_MS;
    if (got_ms + slack >= declared_ms)
        return AUDIO_OK;
    err_printf(err, errlen, "input is truncated: its %s header declares %lld.%03lld s of audio but the file holds "
            "only %lld.%03lld s (an incomplete upload or copy?)", c->fmt->iformat->name,
            (long long)(declared_ms / 1000), (long long)(declared_ms % 1000), (long long)(got_ms / 1000),
            (long long)(got_ms % 1000));
    return AUDIO_TRUNCATED;
}

/* Once everything is decoded: was it audio at all, and mostly intact? */
static audio_rc final_checks(const decode_ctx *c, char *err, size_t errlen)
{
    if (c->produced == 0 && c->raw) {
        err_printf(err, errlen, "raw PCM input holds less than one whole sample frame");
        return AUDIO_EMPTY;
    }
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
    return truncation_check(c, err, errlen);
}

static bool rate_supported(int rate)
{
    return rate >= MIN_RATE && rate <= MAX_RATE;
}

static audio_rc validate_params(const audio_params *p, char *err, size_t errlen)
{
    if (!rate_supported(p->sample_rate)) {
        err_printf(err, errlen, "unsupported output sample rate %d", p->sample_rate);
        return AUDIO_DECODE_FAILED;
    }
    if (p->max_duration_ms <= 0 || p->max_input_bytes <= 0) {
        err_printf(err, errlen, "max_duration_ms and max_input_bytes must be positive");
        return AUDIO_DECODE_FAILED;
    }
    if (p->channel < -1 || p->channel >= MAX_CHANNELS) {
        err_printf(err, errlen, "channel %d is neither -1 (downmix) nor 0..%d", p->channel, MAX_CHANNELS - 1);
        return AUDIO_CHANNEL_MISSING;
    }
    if (p->raw_pcm && (!rate_supported(p->raw_rate) || p->raw_channels < 1 || p->raw_channels > MAX_CHANNELS)) {
        err_printf(err, errlen, "raw PCM declared with an unsupported rate (%d Hz) or channel count (%d)", p->raw_rate,
                p->raw_channels);
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
    pthread_once(&g_ffmpeg_once, configure_ffmpeg);
    audio_rc rc = validate_params(p, err, errlen);
    if (rc == AUDIO_OK)
        rc = check_file(path, p->max_input_bytes, err, errlen);
    if (rc != AUDIO_OK)
        return rc;
    audio_reader *r = xcalloc(1, sizeof *r);
    r->c = (decode_ctx){.stream_index = -1, .channel = p->channel, .raw = p->raw_pcm, .out_rate = p->sample_rate,
                        .max_samples = max_samples_for(p)};
    r->rate = p->sample_rate;
    rc = open_container(&r->c, path, p, err, errlen);
    if (rc == AUDIO_OK)
        rc = open_decoder(&r->c, err, errlen);
    if (rc != AUDIO_OK) {
        audio_close(r);
        return rc;
    }
    *out = r;
    return AUDIO_OK;
}

/* Moves the unread samples to the front, so the buffer holds only what one decode step adds on top
 * of the held-back tail (see audio_read). */
static void compact(decode_ctx *c)
{
    if (c->rpos == 0)
        return;
    memmove(c->out, c->out + c->rpos, (c->n - c->rpos) * sizeof *c->out);
    c->n -= c->rpos;
    c->rpos = 0;
}

/* Samples are copied to dst as they are decoded, not gathered here first: a caller reading
 * 10-minute windows would otherwise hold each window twice (and up to twice again in this buffer's
 * doubling slack). Only the newest HOLD_BACK samples wait while decoding goes on, because the end
 * of a resampler run may still drop a few of them (drop_unread_tail). */
#define HOLD_BACK SLICE_OUTPUT

audio_rc audio_read(audio_reader *r, float *dst, size_t max, size_t *got, char *err, size_t errlen)
{
    decode_ctx *c = &r->c;
    size_t done = 0;
    *got = 0;
    for (;;) {
        size_t ready = c->n - c->rpos, keep = c->eof ? 0 : HOLD_BACK;
        if (ready > keep && done < max) {
            size_t k = ready - keep < max - done ? ready - keep : max - done;
            memcpy(dst + done, c->out + c->rpos, k * sizeof *dst);
            c->rpos += k;
            done += k;
        }
        if (done == max || c->eof)
            break;
        compact(c);
        audio_rc rc = decode_step(c, err, errlen);
        if (rc != AUDIO_OK)
            return rc;
    }
    if (c->eof && !r->checked) {
        r->checked = true;
        audio_rc rc = final_checks(c, err, errlen);
        if (rc != AUDIO_OK)
            return rc;
    }
    *got = done;
    return AUDIO_OK;
}

int64_t audio_reader_duration_ms(const audio_reader *r)
{
    return (int64_t)(r->c.produced - (r->c.n - r->c.rpos)) * 1000 / r->rate;
}

int64_t audio_reader_expected_ms(const audio_reader *r)
{
    const decode_ctx *c = &r->c;
    if (c->declared_ms > 0)
        return c->declared_ms;
    if (c->fmt && c->fmt->duration > 0)   /* AV_NOPTS_VALUE is negative */
        return av_rescale(c->fmt->duration, 1000, AV_TIME_BASE);
    int64_t done = audio_reader_duration_ms(r), size = c->io ? avio_size(c->io) : -1;
    int64_t at = c->io ? avio_tell(c->io) : -1;
    if (done <= 0 || size <= 0 || at <= 0)
        return 0;
    return (int64_t)((double)done * (double)size / (double)at);
}

int audio_reader_channels(const audio_reader *r)
{
    return r->c.in_channels;
}

int audio_reader_input_rate(const audio_reader *r)
{
    return r->c.swr_rate;
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
