/* main.c — the `cicada` command's entry: picks the subcommand. */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <curl/curl.h>
#include <jansson.h>
#include <libavformat/avformat.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cicada <command> [options]\n\n"
               "commands:\n"
               "  serve        run the speech-recognition service (API + object store + workers)\n"
               "  migrate      create or upgrade the database schema, then exit (serve does it too)\n"
               "  transcribe   recognise one local audio file and print the result\n"
               "  diarize      find who spoke when in one local audio file, printed as RTTM\n"
               "  models       list, verify and download (pull) whisper models\n"
               "  jobs         submit, list, get, cancel and watch jobs on a running server\n"
               "  queues       list, pause and resume a running server's queues\n"
               "  buckets      open and list buckets on a running server\n"
               "  text         apply the text options (numbers, fillers, dirty words, punctuation) to stdin lines\n"
               "  version      print versions of cicada and its libraries\n\n"
               "`cicada <command> --help` describes each command.\n");
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 0 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: cicada version\n\nPrints the versions of cicada and the libraries it runs on.\n");
        return 0;
    }
    printf("cicada %s\n", CICADA_VERSION);
    printf("  libmicrohttpd %s, sqlite %s, %s, libcurl %s, jansson %s, libavformat %s\n", MHD_get_version(),
           sqlite3_libversion(), OpenSSL_version(OPENSSL_VERSION), curl_version_info(CURLVERSION_NOW)->version,
           jansson_version_str(), AV_STRINGIFY(LIBAVFORMAT_VERSION));
    return 0;
}

/* glibc raises its mmap threshold each time a large block is freed, so after the first recognition
 * window the next windows' buffers (spectrogram, samples, VAD speech: up to tens of MB) come from
 * the heap and fragment it, and a server's peak memory crept from job to job. Fixed thresholds
 * send blocks from 448 KB up to mmap and back to the system when freed, while whisper.cpp's 405 KB
 * vector per decoding step stays on the heap, whose top is trimmed only past 2 MB (a lower trim
 * threshold gave that block back and faulted it in again at every step: 6% slower). Measured with
 * 10-minute windows, one worker, the same file three times: peak 427 / 433 / 442 MB before,
 * 426 / 429 / 429 MB after (docs/benchmarks.md). */
static void tune_allocator(void)
{
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 448 * 1024);
    mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024);
#endif
}

int main(int argc, char **argv)
{
    tune_allocator();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "transcribe") == 0)
        return cmd_transcribe(argc - 2, argv + 2);
    if (strcmp(cmd, "diarize") == 0)
        return cmd_diarize(argc - 2, argv + 2);
    if (strcmp(cmd, "models") == 0)
        return cmd_models(argc - 2, argv + 2);
    if (strcmp(cmd, "jobs") == 0)
        return cmd_jobs(argc - 2, argv + 2);
    if (strcmp(cmd, "queues") == 0)
        return cmd_queues(argc - 2, argv + 2);
    if (strcmp(cmd, "buckets") == 0)
        return cmd_buckets(argc - 2, argv + 2);
    if (strcmp(cmd, "text") == 0)
        return cmd_text(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cmd_version(argc - 2, argv + 2);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "cicada: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
