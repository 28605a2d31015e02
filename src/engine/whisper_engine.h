/* whisper_engine.h — private to engine_whisper.c and its tests: two steps of a transcription that
 * a random-weight test model cannot fully show end to end. The whisper_full() parameters: the tests
 * check them against whisper-cli's defaults and see hot words become the initial prompt (whisper.cpp
 * only uses a prompt for windows decoded at temperatures below 0.5). The Simplified conversion:
 * random output rarely contains Traditional characters. */
#ifndef CICADA_ENGINE_WHISPER_ENGINE_H
#define CICADA_ENGINE_WHISPER_ENGINE_H

#include <whisper.h>

#include "engine/engine.h"

/* For an engine made by engine_whisper_new: whisper-cli's defaults, the engine's threads, beam
 * size and no-speech threshold, token timestamps on, `language` as given ("auto" detects) and
 * `hotwords` as the initial prompt (NULL or "" = none). The strings are borrowed, not copied. */
struct whisper_full_params whisper_engine_full_params(const engine *e, const char *language, const char *hotwords);

/* Converts the text of every segment and word to Simplified Chinese (OpenCC t2s), keeping the
 * times; transcribe() does this when the language is (or is detected as) zh. Does nothing for an
 * engine made with to_simplified false or with an English-only model. */
void whisper_engine_simplify(engine *e, engine_result *r);

#endif
