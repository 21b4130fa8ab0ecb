#include "data/task_text.h"

namespace titans::data {

Status load_task_text(const TaskSpec& spec, const std::string& corpus_path, TaskText* text,
                      TaskContext* context) {
  bool needs_text = false;
  for (const TaskInfo& t : task_registry())
    for (const auto& [name, w] : spec.parts)
      if (t.name == name) needs_text = needs_text || t.needs_lm_text || t.needs_natural_text;
  if (!needs_text) return {};
  Result<Corpus> loaded = load_corpus(corpus_path.empty() ? default_corpus_path() : corpus_path);
  if (!loaded) return loaded.status();
  text->corpus = std::move(loaded.value());
  text->sentences = SentenceBank::from_text(text->corpus->text);
  context->lm_text = text->corpus->text;
  context->natural = &text->sentences;
  return {};
}

}  // namespace titans::data
