/* whisper_modelfile.h — private to the whisper engine: checks a ggml model file before whisper.cpp
 * reads it. whisper.cpp's loaders trust the file: a truncated or corrupt one can make them read
 * garbage lengths, index past arrays or trip a GGML_ASSERT (abort), so we walk the whole file
 * ourselves first and only hand it over when every field is in range and every tensor whisper will
 * ask for is present, once, with the size it expects. */
#ifndef CICADA_ENGINE_WHISPER_MODELFILE_H
#define CICADA_ENGINE_WHISPER_MODELFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wmf_info {
    int32_t n_vocab, n_audio_state, n_audio_layer, n_text_layer, n_mels, ftype;
    int64_t file_bytes;
} wmf_info;

/* A whisper model (ggml-*.bin): header, mel filters, vocabulary and all tensors. info may be NULL.
 * Messages say what is wrong with the file, not which file: callers name it. */
bool wmf_check_whisper(const char *path, wmf_info *info, char *err, size_t errlen);

/* A Silero VAD model in whisper.cpp's ggml form. */
bool wmf_check_vad(const char *path, char *err, size_t errlen);

#endif
