/* output.h — turns an engine_result into what a job writes back: the Result lines of the API
 * ("[m:s.mmm,m:s.mmm]  text", one per segment), SubRip subtitles, and the ResultDetail sentences
 * (as JSON, stored with the job and written as the `.detail` object). Pure formatting. */
#ifndef CICADA_OUTPUT_H
#define CICADA_OUTPUT_H

#include "engine/engine.h"

/* One line per segment, joined by "\n" (no trailing newline). Heap string. */
char *output_result_lines(const engine_result *r);
/* SubRip: numbered cues "HH:MM:SS,mmm --> HH:MM:SS,mmm". Heap string. */
char *output_srt(const engine_result *r);
/* JSON array of sentences: FinalSentence, SliceSentence, StartMs, EndMs, WordsNum, SpeechSpeed,
 * SpeakerId and Words [{Word, OffsetStartMs, OffsetEndMs}] (offsets relative to the sentence).
 * Heap string. */
char *output_detail_json(const engine_result *r, int speaker_id);

#endif
