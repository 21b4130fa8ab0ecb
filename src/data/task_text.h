// The text a task spec reads — the corpus for lm, its sentences for natural-text haystacks —
// loaded only when one of its tasks needs it (passkey / sniah1 / mqar run without a corpus).
#pragma once

#include <optional>
#include <string>

#include "data/corpus.h"
#include "data/sentences.h"
#include "data/tasks.h"

namespace titans::data {

struct TaskText {
  std::optional<Corpus> corpus;
  SentenceBank sentences;
};

// Fills `text` when the spec needs text (from corpus_path, or default_corpus_path() when empty)
// and points context->lm_text / context->natural at it; `text` must outlive the context and not
// move. Errors: load_corpus's (one line naming the path).
Status load_task_text(const TaskSpec& spec, const std::string& corpus_path, TaskText* text,
                      TaskContext* context);

}  // namespace titans::data
