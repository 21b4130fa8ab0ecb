// The task generators against docs/TASKS.md: templates word for word, answers recoverable from the
// text (bAbI replayed independently), depth placement, labelled positions, exact lengths,
// determinism, mixtures. Hermetic: the haystack is a committed KJV excerpt (tests/data/).
#include "data/tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "data/sentences.h"
#include "data/tokenizer.h"
#include "data/word_lists.h"

namespace titans::data {
namespace {

const std::vector<std::string> kRetrievalTasks = {"passkey", "sniah1", "sniah2", "sniah3",
                                                  "qa1",     "qa2",    "qa3"};
const std::vector<double> kDepths = {0.0, 0.25, 0.5, 0.75, 1.0};

const std::string& fixture_text() {
  static const std::string text = [] {
    const auto p = std::filesystem::path(__FILE__).parent_path() / "data" / "kjv_genesis_1-3.txt";
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  return text;
}

const SentenceBank& fixture_bank() {
  static const SentenceBank bank = SentenceBank::from_text(fixture_text());
  return bank;
}

TaskContext context(TaskParams p = {}) { return TaskContext{fixture_text(), &fixture_bank(), p}; }

Example make(const std::string& task, int64_t length, uint64_t seed,
             std::optional<double> depth = std::nullopt, TaskParams p = {}) {
  Result<TaskSpec> spec = parse_task(task);
  EXPECT_TRUE(spec.ok()) << spec.message();
  Result<Example> ex = generate(spec.value(), context(p), length, depth, seed);
  EXPECT_TRUE(ex.ok()) << task << ": " << ex.message();
  return ex.ok() ? ex.value() : Example{};
}

std::string text_of(const Example& ex) { return decode(ex.tokens).value(); }
std::string text_of(const Example& ex, Span s) {
  return text_of(ex).substr(size_t(s.pos), size_t(s.length));
}

// ---- every task

TEST(Tasks, RegistryListsEveryTaskOfTheSpec) {
  std::vector<std::string> names;
  for (const TaskInfo& t : task_registry()) names.emplace_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"passkey", "sniah1", "sniah2", "sniah3", "qa1", "qa2",
                                             "qa3", "mqar", "lm"}));
}

TEST(Tasks, EveryTaskHasExactLengthAndIsDeterministic) {
  for (const TaskInfo& t : task_registry()) {
    const std::string name(t.name);
    const int64_t least = min_length(parse_task(name).value(), {}).value();
    for (int64_t length : {least, least + 1, least + 37, int64_t(2048), int64_t(8191)}) {
      for (uint64_t seed : {1, 2, 3}) {
        const Example ex = make(name, length, seed);
        EXPECT_EQ(int64_t(ex.tokens.size()), length) << name;
        EXPECT_EQ(ex.targets.size(), ex.tokens.size()) << name;
        EXPECT_EQ(ex.task, name);
        for (int32_t id : ex.tokens) ASSERT_TRUE(id >= 0 && id < kVocabSize) << name;
      }
    }
    const Example a = make(name, 2048, 11), b = make(name, 2048, 11), c = make(name, 2048, 12);
    EXPECT_EQ(a.tokens, b.tokens) << name;
    EXPECT_EQ(a.targets, b.targets) << name;
    EXPECT_NE(a.tokens, c.tokens) << name;
  }
}

TEST(Tasks, RetrievalTargetsAreExactlyTheCompletion) {
  for (const std::string& name : kRetrievalTasks) {
    const Example ex = make(name, 3000, 5);
    const int64_t n = int64_t(ex.tokens.size());
    ASSERT_GT(ex.prompt_length, 0);
    // The completion is the answer after one space, closed by a period (" 71432.", " kitchen.").
    EXPECT_EQ(text_of(ex, {ex.prompt_length, n - ex.prompt_length}), " " + ex.answer + ".") << name;
    for (int64_t i = 0; i < n; ++i) {
      const bool labelled = i >= ex.prompt_length - 1 && i < n - 1;
      EXPECT_EQ(ex.targets[size_t(i)], labelled ? ex.tokens[size_t(i + 1)] : kNoTarget)
          << name << " position " << i;
    }
    EXPECT_TRUE(score_generation(ex, text_of(ex, {ex.prompt_length, n - ex.prompt_length}) + "."));
    EXPECT_FALSE(score_generation(ex, " nothing here"));
    // The optional full LM loss labels every next token.
    TaskParams full;
    full.full_lm_loss = true;
    const Example lm = make(name, 3000, 5, std::nullopt, full);
    EXPECT_EQ(lm.tokens, ex.tokens);
    for (int64_t i = 0; i + 1 < n; ++i) ASSERT_EQ(lm.targets[size_t(i)], lm.tokens[size_t(i + 1)]);
    EXPECT_EQ(lm.targets.back(), kNoTarget);
  }
}

// tail_jitter: the task's own example of length − j, then j unlabelled spaces, j uniform in
// [0, tail_jitter]: the question ends at different offsets; MQAR and lm are left alone.
TEST(Tasks, TailJitterAppendsSpacesAfterTheCompletion) {
  TaskParams jitter;
  jitter.tail_jitter = 31;
  for (const std::string& name : kRetrievalTasks) {
    std::set<int64_t> tails;
    for (uint64_t seed = 0; seed < 40; ++seed) {
      const Example ex = make(name, 1000, seed, 0.5, jitter);
      ASSERT_EQ(ex.tokens.size(), 1000u) << name;
      const int64_t c = int64_t(ex.answer.size() + 2);  // " " + answer + "."
      const int64_t tail = 1000 - ex.prompt_length - c;
      ASSERT_GE(tail, 0) << name;
      ASSERT_LE(tail, 31) << name;
      tails.insert(tail);
      EXPECT_EQ(text_of(ex, {ex.prompt_length, c}), " " + ex.answer + ".") << name;
      for (int64_t i = ex.prompt_length + c; i < 1000; ++i)
        EXPECT_EQ(ex.tokens[size_t(i)], int32_t(' '));
      // Labelled: the completion only (the target of position i is token i + 1).
      for (int64_t i = 0; i < 1000; ++i) {
        const bool labelled = i >= ex.prompt_length - 1 && i < ex.prompt_length + c - 1;
        EXPECT_EQ(ex.targets[size_t(i)], labelled ? ex.tokens[size_t(i + 1)] : kNoTarget)
            << name << " " << i;
      }
      EXPECT_TRUE(score_generation(ex, text_of(ex, {ex.prompt_length, c})));
    }
    EXPECT_GE(tails.size(), 10u) << name << ": the tail should vary across seeds";
  }
  // MQAR ignores it.
  TaskParams mqar = jitter;
  mqar.mqar_vocab = 64;
  TaskParams plain;
  plain.mqar_vocab = 64;
  EXPECT_EQ(make("mqar", 128, 3, std::nullopt, mqar).tokens,
            make("mqar", 128, 3, std::nullopt, plain).tokens);
}

TEST(Tasks, LengthBelowTheMinimumIsAnErrorNamingTaskAndMinimum) {
  for (const TaskInfo& t : task_registry()) {
    const TaskSpec spec = parse_task(t.name).value();
    const int64_t least = min_length(spec, {}).value();
    if (least <= 1) continue;
    Result<Example> r = generate(spec, context(), least - 1, std::nullopt, 1);
    ASSERT_FALSE(r.ok()) << t.name;
    EXPECT_NE(r.message().find(std::string(t.name)), std::string::npos) << r.message();
    EXPECT_NE(r.message().find(std::to_string(least)), std::string::npos) << r.message();
  }
}

TEST(Tasks, BadNamesDepthsAndContextsAreErrors) {
  EXPECT_NE(parse_task("needle").message().find("unknown task 'needle'"), std::string::npos);
  EXPECT_FALSE(parse_task("mix:passkey=1,bogus=2").ok());
  EXPECT_FALSE(parse_task("mix:passkey=0").ok());
  EXPECT_FALSE(parse_task("mix:passkey=x").ok());
  EXPECT_FALSE(parse_task("mix:passkey").ok());
  EXPECT_FALSE(parse_task("mix:passkey=1,passkey=2").ok());
  EXPECT_FALSE(parse_task("mix:").ok());
  const TaskSpec passkey = parse_task("passkey").value();
  EXPECT_FALSE(generate(passkey, context(), 1000, 1.5, 1).ok());
  TaskContext bare;
  EXPECT_TRUE(generate(passkey, bare, 1000, 0.5, 1).ok());  // the filler needs no corpus
  Result<Example> no_text = generate(parse_task("sniah2").value(), bare, 1000, 0.5, 1);
  EXPECT_NE(no_text.message().find("natural-text corpus"), std::string::npos);
  EXPECT_FALSE(generate(parse_task("lm").value(), bare, 100, std::nullopt, 1).ok());
}

// ---- needle tasks: templates, answers, depth

// Whether text[begin, end) ends with a whole sentence of the bank, or is the end of one (the cut
// sentence a haystack starts with).
bool ends_with_sentence(const std::string& text, int64_t begin, int64_t end,
                        const SentenceBank& bank) {
  for (size_t i = 0; i < bank.size(); ++i) {
    const std::string& s = bank[i];
    const size_t n = std::min(s.size(), size_t(end - begin));
    if (text.compare(size_t(end) - n, n, s, s.size() - n, n) == 0) return true;
  }
  return false;
}

// The depth rule, checked from the text: the needle sits at a sentence boundary within one
// sentence of depth × haystack; 0 and 1 are the haystack's two ends.
void check_depth(const Example& ex, double depth, const SentenceBank& bank,
                 const std::string& header) {
  const std::string text = text_of(ex);
  ASSERT_EQ(ex.needles.size(), 1u);
  const Span n = ex.needles[0];
  const int64_t haystack = ex.haystack.length - n.length - 1;  // without the needle
  const double tolerance = double(bank.max_length() + 1) / double(haystack);
  EXPECT_NEAR(haystack_depth(ex, 0), depth, tolerance) << ex.task;
  const double measured = double(n.pos - ex.haystack.pos) / double(haystack);
  EXPECT_NEAR(std::min(measured, 1.0), depth, tolerance) << ex.task;
  if (depth == 0.0) {
    EXPECT_EQ(n.pos, int64_t(header.size()) + 1) << ex.task;
  }
  if (depth == 1.0) {
    EXPECT_EQ(text[size_t(n.pos + n.length)], '\n') << ex.task;  // then the question
  }
  if (n.pos > ex.haystack.pos) {  // a sentence boundary: a whole sentence ends just before
    EXPECT_TRUE(ends_with_sentence(text, ex.haystack.pos, n.pos - 1, bank))
        << ex.task << " at " << n.pos;
  }
}

const std::string kPasskeyHeader =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
    "I will quiz you about the important information there.";
const std::string kFiller =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

TEST(Passkey, TemplateAnswerAndDepth) {
  for (double depth : kDepths) {
    for (uint64_t seed : {1, 2, 3, 4}) {
      const Example ex = make("passkey", 4096, seed, depth);
      const std::string text = text_of(ex);
      const std::string& key = ex.answer;
      const int k = std::stoi(key);
      EXPECT_TRUE(k >= 1 && k <= 50000);
      EXPECT_EQ(std::to_string(k), key);
      EXPECT_TRUE(text.starts_with(kPasskeyHeader + "\n"));
      const std::string line =
          "The pass key is " + key + ". Remember it. " + key + " is the pass key.";
      ASSERT_EQ(text_of(ex, ex.needles[0]), line);
      EXPECT_EQ(text[size_t(ex.needles[0].pos - 1)], '\n');  // the key line is a line of its own
      EXPECT_EQ(text[size_t(ex.needles[0].pos + ex.needles[0].length)], '\n');
      EXPECT_NE(text.find(kFiller), std::string::npos);
      EXPECT_TRUE(text.ends_with("\nWhat is the pass key? The pass key is " + key + "."));
      EXPECT_EQ(ex.scoring, Scoring::kFirstInteger);
      EXPECT_EQ(ex.max_new_tokens, 8);
      EXPECT_TRUE(score_generation(ex, " " + key + ". The"));
      EXPECT_FALSE(score_generation(ex, " 1" + key));
      check_depth(ex, depth, SentenceBank::filler(), kPasskeyHeader);
    }
  }
}

TEST(Sniah, TemplatesAnswersAndDepth) {
  const std::regex number_needle(
      "One of the special magic numbers for ([a-z]+)-([a-z]+) is: ([0-9]{7})\\.");
  const std::regex uuid_needle(
      "One of the special magic uuids for ([a-z]+)-([a-z]+) is: "
      "([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\\.");
  for (int variant : {1, 2, 3}) {
    const std::string what = variant == 3 ? "uuid" : "number";
    const std::string header = "A special magic " + what +
                               " is hidden within the following text. Make sure to memorize it. I "
                               "will quiz you about the " +
                               what + " afterwards.";
    const SentenceBank& bank = variant == 1 ? SentenceBank::filler() : fixture_bank();
    std::set<std::string> values;
    for (double depth : kDepths) {
      for (uint64_t seed : {1, 2, 3}) {
        const Example ex = make("sniah" + std::to_string(variant), 6000, seed, depth);
        const std::string text = text_of(ex);
        std::smatch m;
        const std::string needle = text_of(ex, ex.needles[0]);
        ASSERT_TRUE(std::regex_match(needle, m, variant == 3 ? uuid_needle : number_needle))
            << needle;
        const std::string adjective = m[1], noun = m[2], value = m[3];
        EXPECT_TRUE(std::count(adjectives().begin(), adjectives().end(), adjective));
        EXPECT_TRUE(std::count(nouns().begin(), nouns().end(), noun));
        EXPECT_EQ(value, ex.answer);
        values.insert(value);
        const std::string key = adjective + "-" + noun;
        EXPECT_TRUE(text.starts_with(header + "\n"));
        EXPECT_TRUE(text.ends_with("\nWhat is the special magic " + what + " for " + key +
                                   " mentioned in the provided text? The special magic " + what +
                                   " for " + key + " mentioned in the provided text is " + value +
                                   "."));
        // The needle occurs once: the haystack does not repeat it.
        EXPECT_EQ(text.find(needle), text.rfind(needle));
        // S-NIAH-1's haystack is the filler; the others' is natural text without it.
        EXPECT_EQ(text.find("The grass is green.") != std::string::npos, variant == 1);
        EXPECT_EQ(ex.scoring, Scoring::kSubstring);
        EXPECT_TRUE(score_generation(ex, " is " + value + "."));
        check_depth(ex, depth, bank, header);
      }
    }
    EXPECT_EQ(values.size(), 3u);  // the value depends on the seed (3 seeds), not on the depth
  }
}

TEST(Sniah, DrawnDepthIsReportedAndUsed) {
  std::set<double> depths;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Example ex = make("sniah2", 4000, seed);
    ASSERT_TRUE(ex.depth >= 0 && ex.depth < 1);
    depths.insert(ex.depth);
    check_depth(ex, ex.depth, fixture_bank(), "");
  }
  EXPECT_EQ(depths.size(), 20u);
}

// ---- bAbI: the answer replayed from the facts found in the text

struct Replay {
  std::map<std::string, std::string> actor_place;
  std::map<std::string, std::string> holder;                // object → actor
  std::map<std::string, std::vector<std::string>> history;  // object → places, no repeats in a row
  void put(const std::string& o, const std::string& p) {
    if (history[o].empty() || history[o].back() != p) history[o].push_back(p);
  }
};

TEST(Babi, FactsInOrderAndAnswersReplayIndependently) {
  const std::regex fact(
      "(John|Mary|Sandra|Daniel) (went to|journeyed to|travelled to|moved to|grabbed|took|got|"
      "dropped|put down|left) the (bathroom|bedroom|garden|hallway|kitchen|office|apple|football|"
      "milk)\\.");
  const std::regex question(
      "\\nQuestion: Where (is|was) (the )?(\\w+)(?: before the (\\w+))?\\? Answer:$");
  for (int qa : {1, 2, 3}) {
    std::map<std::string, int> answers;
    for (uint64_t seed = 0; seed < 60; ++seed) {
      const Example ex = make("qa" + std::to_string(qa), 3000, seed);
      const std::string text = text_of(ex);
      ASSERT_EQ(int(ex.needles.size()), babi_facts(qa, {}));
      Replay w;
      size_t found = 0;
      for (auto it = std::sregex_iterator(text.begin(), text.end(), fact);
           it != std::sregex_iterator(); ++it, ++found) {
        const std::smatch& m = *it;
        ASSERT_LT(found, ex.needles.size());
        EXPECT_EQ(m.position(0), ex.needles[found].pos);  // the facts, in order, where reported
        EXPECT_EQ(m.length(0), ex.needles[found].length);
        const std::string actor = m[1], verb = m[2], thing = m[3];
        if (verb.ends_with(" to")) {
          w.actor_place[actor] = thing;
          for (const auto& [o, a] : w.holder)
            if (a == actor) w.put(o, thing);
        } else if (verb == "grabbed" || verb == "took" || verb == "got") {
          ASSERT_NE(qa, 1) << "qa1 stories only move";
          ASSERT_TRUE(w.actor_place.count(actor)) << "grabs happen somewhere known";
          ASSERT_FALSE(w.holder.count(thing)) << "nobody holds what is grabbed";
          w.holder[thing] = actor;
          w.put(thing, w.actor_place[actor]);
        } else {
          ASSERT_EQ(w.holder[thing], actor) << "only the holder drops";
          w.holder.erase(thing);
        }
      }
      EXPECT_EQ(found, ex.needles.size());
      // The question closes the prompt; the answer replayed from the facts.
      const std::string prompt = text.substr(0, size_t(ex.prompt_length));
      std::smatch q;
      ASSERT_TRUE(std::regex_search(prompt, q, question)) << prompt.substr(prompt.size() - 80);
      std::string expected;
      if (qa == 1) {
        EXPECT_EQ(q[1], "is");
        expected = w.actor_place.at(q[3]);
      } else if (qa == 2) {
        EXPECT_EQ(q[2], "the ");
        expected = w.history.at(q[3]).back();
      } else {
        const std::vector<std::string>& h = w.history.at(q[3]);
        const auto at = std::find(h.begin(), h.end(), q[4].str());
        ASSERT_TRUE(at != h.end() && at != h.begin()) << "the place was in the history, not first";
        ASSERT_EQ(std::count(h.begin(), h.end(), q[4].str()), 1) << "unambiguous";
        expected = *(at - 1);
      }
      EXPECT_EQ(ex.answer, expected) << "qa" << qa << " seed " << seed;
      std::string capitalised = expected;
      capitalised[0] = char(std::toupper(capitalised[0]));
      EXPECT_TRUE(score_generation(ex, " " + capitalised + ". Question"));  // first word, any case
      EXPECT_FALSE(score_generation(ex, " the " + expected));
      EXPECT_EQ(ex.scoring, Scoring::kExactWord);
      ++answers[expected];
      // The facts are spread through the haystack, not bunched at one end.
      if (seed == 0) {
        EXPECT_GT(ex.needles.back().pos - ex.needles.front().pos, 200);
      }
    }
    EXPECT_GE(answers.size(), 4u) << "answers vary over the places";
  }
}

TEST(Babi, FactsParameter) {
  TaskParams p;
  p.qa_facts = 12;
  EXPECT_EQ(make("qa2", 4000, 3, std::nullopt, p).needles.size(), 12u);
  p.qa_facts = 2;
  EXPECT_FALSE(generate(parse_task("qa3").value(), context(p), 4000, std::nullopt, 1).ok());
}

// ---- MQAR

TEST(Mqar, PairsThenQueriesWithTargetsAtTheQueriedKeys) {
  for (const auto& [v, n, length] : std::vector<std::tuple<int, int, int64_t>>{
           {256, 8, 64}, {256, 8, 32}, {64, 16, 512}, {8192, 64, 1024}}) {
    TaskParams p;
    p.mqar_vocab = v;
    p.mqar_pairs = n;
    for (uint64_t seed : {1, 2}) {
      const Example ex = make("mqar", length, seed, std::nullopt, p);
      std::map<int32_t, int32_t> value_of;
      std::set<int32_t> values;
      for (int i = 0; i < n; ++i) {
        const int32_t k = ex.tokens[size_t(2 * i)], val = ex.tokens[size_t(2 * i + 1)];
        EXPECT_TRUE(k >= 1 && k < v / 2) << k;
        EXPECT_TRUE(val >= v / 2 && val < v) << val;
        EXPECT_TRUE(value_of.emplace(k, val).second) << "keys are distinct";
        EXPECT_TRUE(values.insert(val).second) << "values are distinct";
        EXPECT_EQ(ex.targets[size_t(2 * i)], kNoTarget);
        EXPECT_EQ(ex.targets[size_t(2 * i + 1)], kNoTarget);
      }
      std::set<int32_t> queried;
      for (int64_t i = 2 * n; i < length; ++i) {
        const int32_t t = ex.tokens[size_t(i)];
        if (t == 0) {
          EXPECT_EQ(ex.targets[size_t(i)], kNoTarget);
          continue;
        }
        ASSERT_TRUE(value_of.count(t)) << "only keys are re-inserted";
        EXPECT_EQ(ex.targets[size_t(i)], value_of[t]);  // the target at a queried key: its value
        EXPECT_TRUE(queried.insert(t).second) << "each key queried once";
      }
      EXPECT_EQ(int(queried.size()), n);
      EXPECT_EQ(int(ex.needles.size()), n);
      std::vector<int32_t> perfect = ex.targets, wrong(ex.targets.size(), 0);
      EXPECT_EQ(score_predictions(ex, perfect), 1.0);
      EXPECT_EQ(score_predictions(ex, wrong), 0.0);
      perfect[size_t(ex.needles[0].pos)] = 0;
      EXPECT_DOUBLE_EQ(score_predictions(ex, perfect), 1.0 - 1.0 / n);
    }
  }
  TaskParams too_many;
  too_many.mqar_pairs = 200;  // V = 256 has 127 keys
  EXPECT_FALSE(generate(parse_task("mqar").value(), context(too_many), 1024, std::nullopt, 1).ok());
}

// ---- lm

TEST(Lm, WindowOfTheTextWithNextByteTargets) {
  const Example ex = make("lm", 300, 9);
  const std::string text = text_of(ex);
  const size_t at = fixture_text().find(text);
  ASSERT_NE(at, std::string::npos);
  for (size_t i = 0; i < 300; ++i)
    EXPECT_EQ(ex.targets[i], static_cast<unsigned char>(fixture_text()[at + i + 1]));
  EXPECT_EQ(ex.scoring, Scoring::kLoss);
}

// ---- mixtures

TEST(Mixture, DrawsTasksByWeight) {
  const TaskSpec spec = parse_task("mix:passkey=1,mqar=2,qa1=0.5").value();
  ASSERT_EQ(spec.parts.size(), 3u);
  EXPECT_EQ(min_length(spec, {}).value(),
            std::max({min_length(parse_task("passkey").value(), {}).value(),
                      min_length(parse_task("qa1").value(), {}).value()}));
  std::map<std::string, int> count;
  const int draws = 2000;
  for (int seed = 0; seed < draws; ++seed)
    ++count[make("mix:passkey=1,mqar=2,qa1=0.5", 400, uint64_t(seed)).task];
  EXPECT_NEAR(count["passkey"] / double(draws), 1 / 3.5, 0.03);
  EXPECT_NEAR(count["mqar"] / double(draws), 2 / 3.5, 0.03);
  EXPECT_NEAR(count["qa1"] / double(draws), 0.5 / 3.5, 0.03);
  // A mixture's example is its task's example for the same draws: deterministic too.
  EXPECT_EQ(make("mix:passkey=1,mqar=2", 400, 77).tokens,
            make("mix:passkey=1,mqar=2", 400, 77).tokens);
  // Too short for one of its tasks: an error naming that task, whichever task is drawn.
  Result<Example> r =
      generate(parse_task("mix:mqar=1,sniah3=1").value(), context(), 100, std::nullopt, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("sniah3"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace titans::data
