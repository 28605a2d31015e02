/* amr_encode.c — test-only tool: writes AMR-NB or AMR-WB files (RFC 4867 storage format) from raw
 * s16le mono PCM, because Debian's FFmpeg can decode AMR but not encode it. The test fixture
 * (make_formats.sh) feeds it 8 kHz audio for nb and 16 kHz audio for wb. A last partial frame is
 * padded with silence, so the file may be up to one 20 ms frame longer than its input.
 *
 *   amr_encode nb|wb IN.raw OUT.amr */
#include <opencore-amrnb/interf_enc.h>
#include <vo-amrwbenc/enc_if.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NB_FRAME 160               /* 20 ms at 8 kHz */
#define WB_FRAME 320               /* 20 ms at 16 kHz */
#define WB_MODE_23_85 8            /* the highest AMR-WB bit rate */
#define MAX_PACKET 64              /* the largest AMR-WB frame is 61 bytes with its header */

typedef struct amr_kind {
    const char *magic;
    int frame_samples;
} amr_kind;

static const amr_kind NB = {"#!AMR\n", NB_FRAME};
static const amr_kind WB = {"#!AMR-WB\n", WB_FRAME};

/* Reads one frame of samples, zero-padding a short last one; false at the end of input. */
static bool read_frame(FILE *in, short *pcm, int n)
{
    size_t got = fread(pcm, sizeof *pcm, (size_t)n, in);
    if (got == 0)
        return false;
    memset(pcm + got, 0, ((size_t)n - got) * sizeof *pcm);
    return true;
}

static int encode(const amr_kind *kind, FILE *in, FILE *out)
{
    void *nb = kind == &NB ? Encoder_Interface_init(0) : NULL;
    void *wb = kind == &WB ? E_IF_init() : NULL;
    if (!nb && !wb)
        return 1;
    short pcm[WB_FRAME];
    unsigned char packet[MAX_PACKET * 2];
    int rc = fputs(kind->magic, out) < 0;
    while (rc == 0 && read_frame(in, pcm, kind->frame_samples)) {
        int len = nb ? Encoder_Interface_Encode(nb, MR122, pcm, packet, 0)
                     : E_IF_encode(wb, WB_MODE_23_85, pcm, packet, 0);
        if (len <= 0 || fwrite(packet, 1, (size_t)len, out) != (size_t)len)
            rc = 1;
    }
    if (nb)
        Encoder_Interface_exit(nb);
    if (wb)
        E_IF_exit(wb);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "nb") != 0 && strcmp(argv[1], "wb") != 0)) {
        fprintf(stderr, "usage: amr_encode nb|wb IN.raw OUT.amr\n");
        return 2;
    }
    FILE *in = fopen(argv[2], "rb");
    FILE *out = fopen(argv[3], "wb");
    int rc = 1;
    if (in && out)
        rc = encode(strcmp(argv[1], "nb") == 0 ? &NB : &WB, in, out);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = 1;
    if (rc != 0)
        fprintf(stderr, "amr_encode: could not encode %s into %s\n", argv[2], argv[3]);
    return rc;
}
