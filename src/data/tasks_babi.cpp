// BABILong-style reasoning (qa1–qa3): a bAbI story simulated in a small world, its facts hidden in
// order at random sentence boundaries of natural text, the question after the text.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "data/haystack.h"
#include "data/tasks.h"

namespace titans::data {

namespace {

constexpr std::array<std::string_view, 4> kActors = {"John", "Mary", "Sandra", "Daniel"};
constexpr std::array<std::string_view, 6> kPlaces = {"bathroom", "bedroom", "garden",
                                                     "hallway",  "kitchen", "office"};
constexpr std::array<std::string_view, 3> kObjects = {"apple", "football", "milk"};
constexpr std::array<std::string_view, 4> kMoveVerbs = {"went to", "journeyed to", "travelled to",
                                                        "moved to"};
constexpr std::array<std::string_view, 3> kGrabVerbs = {"grabbed", "took", "got"};
constexpr std::array<std::string_view, 3> kDropVerbs = {"dropped", "put down", "left"};
constexpr int kNoPlace = -1;
// Stories whose random facts leave no question to ask are drawn again, up to this many times.
constexpr int kMaxStoryDraws = 1000;

template <class A>
std::string_view pick(const A& options, Rng& rng) {
  return options[rng.below(options.size())];
}

// The world as the facts leave it.
struct World {
  std::array<int, kActors.size()> actor_place;
  std::array<int, kObjects.size()> holder;                // an actor, or −1
  std::array<std::vector<int>, kObjects.size()> history;  // places, no two alike in a row
  World() {
    actor_place.fill(kNoPlace);
    holder.fill(-1);
  }
  void place_object(size_t o, int p) {
    if (history[o].empty() || history[o].back() != p) history[o].push_back(p);
  }
};

struct Story {
  std::vector<std::string> facts;
  std::string question, answer;
};

std::string move_fact(World& w, Rng& rng) {
  const size_t a = rng.below(kActors.size());
  const int here = w.actor_place[a];
  int p;
  if (here == kNoPlace) {
    p = int(rng.below(kPlaces.size()));
  } else {
    p = int(rng.below(kPlaces.size() - 1));  // somewhere else than where the actor is
    if (p >= here) ++p;
  }
  w.actor_place[a] = p;
  for (size_t o = 0; o < kObjects.size(); ++o)
    if (w.holder[o] == int(a)) w.place_object(o, p);  // carried objects go along
  return fmt::format("{} {} the {}.", kActors[a], pick(kMoveVerbs, rng), kPlaces[size_t(p)]);
}

// A grab by an actor whose place is known, of an object nobody holds that is unplaced or there;
// "" when none is possible.
std::string grab_fact(World& w, Rng& rng) {
  std::vector<std::pair<size_t, size_t>> options;
  for (size_t a = 0; a < kActors.size(); ++a)
    for (size_t o = 0; o < kObjects.size(); ++o)
      if (w.actor_place[a] != kNoPlace && w.holder[o] < 0 &&
          (w.history[o].empty() || w.history[o].back() == w.actor_place[a]))
        options.push_back({a, o});
  if (options.empty()) return "";
  const auto [a, o] = options[rng.below(options.size())];
  w.holder[o] = int(a);
  w.place_object(o, w.actor_place[a]);
  return fmt::format("{} {} the {}.", kActors[a], pick(kGrabVerbs, rng), kObjects[o]);
}

std::string drop_fact(World& w, Rng& rng) {
  std::vector<size_t> held;
  for (size_t o = 0; o < kObjects.size(); ++o)
    if (w.holder[o] >= 0) held.push_back(o);
  if (held.empty()) return "";
  const size_t o = held[rng.below(held.size())];
  const size_t a = size_t(w.holder[o]);
  w.holder[o] = -1;  // it stays where the actor is
  return fmt::format("{} {} the {}.", kActors[a], pick(kDropVerbs, rng), kObjects[o]);
}

// One try: the facts, then a question the facts answer (false when there is none to ask).
bool draw_story(int qa, int32_t n_facts, Rng& rng, Story* s) {
  World w;
  s->facts.clear();
  while (int32_t(s->facts.size()) < n_facts) {
    // qa1 only moves; qa2/qa3 move half of the time, grab or drop otherwise (a move if neither
    // can).
    const uint64_t kind = qa == 1 ? 0 : rng.below(4);
    std::string fact = kind == 2 ? grab_fact(w, rng) : kind == 3 ? drop_fact(w, rng) : "";
    if (fact.empty()) fact = move_fact(w, rng);
    s->facts.push_back(std::move(fact));
  }
  if (qa == 1) {
    std::vector<size_t> placed;
    for (size_t a = 0; a < kActors.size(); ++a)
      if (w.actor_place[a] != kNoPlace) placed.push_back(a);
    const size_t a = placed[rng.below(placed.size())];  // the first fact placed someone
    s->question = fmt::format("Where is {}?", kActors[a]);
    s->answer = kPlaces[size_t(w.actor_place[a])];
    return true;
  }
  if (qa == 2) {
    std::vector<size_t> placed;
    for (size_t o = 0; o < kObjects.size(); ++o)
      if (!w.history[o].empty()) placed.push_back(o);
    if (placed.empty()) return false;
    const size_t o = placed[rng.below(placed.size())];
    s->question = fmt::format("Where is the {}?", kObjects[o]);
    s->answer = kPlaces[size_t(w.history[o].back())];
    return true;
  }
  // qa3: a place P the object was at exactly once, not its first; the answer is the place before.
  std::vector<std::pair<size_t, size_t>> options;
  for (size_t o = 0; o < kObjects.size(); ++o) {
    const std::vector<int>& h = w.history[o];
    for (size_t j = 1; j < h.size(); ++j)
      if (std::count(h.begin(), h.end(), h[j]) == 1) options.push_back({o, j});
  }
  if (options.empty()) return false;
  const auto [o, j] = options[rng.below(options.size())];
  s->question =
      fmt::format("Where was the {} before the {}?", kObjects[o], kPlaces[size_t(w.history[o][j])]);
  s->answer = kPlaces[size_t(w.history[o][j - 1])];
  return true;
}

HaystackLayout babi_layout(const Story& s) {
  HaystackLayout l;
  l.inserts = s.facts;
  l.question = fmt::format("Question: {} Answer:", s.question);
  // The period ends the answer (as passkey's and S-NIAH's): without it a trained model ran on
  // into the next word ("bedroomgaroom"), which the first-word score counts wrong.
  l.completion = " " + s.answer + ".";
  return l;
}

template <class A>
size_t longest(const A& words) {
  size_t n = 0;
  for (std::string_view w : words) n = std::max(n, w.size());
  return n;
}

}  // namespace

int32_t babi_facts(int qa, const TaskParams& p) {
  if (p.qa_facts > 0) return p.qa_facts;
  return qa == 1 ? 4 : qa == 2 ? 6 : 8;
}

int64_t babi_min_length(int qa, const TaskParams& p) {
  // The longest fact, question and answer the world's words can make.
  const size_t actor = longest(kActors), place = longest(kPlaces), object = longest(kObjects);
  const size_t move = actor + 1 + longest(kMoveVerbs) + 5 + place + 1;  // "X v the P."
  const size_t handle =
      actor + 1 + std::max(longest(kGrabVerbs), longest(kDropVerbs)) + 5 + object + 1;
  Story s;
  s.facts.assign(size_t(babi_facts(qa, p)),
                 std::string(qa == 1 ? move : std::max(move, handle), 'f'));
  s.question = qa == 1   ? fmt::format("Where is {}?", std::string(actor, 'a'))
               : qa == 2 ? fmt::format("Where is the {}?", std::string(object, 'o'))
                         : fmt::format("Where was the {} before the {}?", std::string(object, 'o'),
                                       std::string(place, 'p'));
  s.answer = std::string(place, 'p');
  return fixed_length(babi_layout(s));
}

Result<Example> generate_babi(int qa, const TaskContext& c, int64_t length, Rng& rng) {
  TITANS_CHECK(qa >= 1 && qa <= 3, "bAbI tasks are qa1, qa2, qa3");
  Story story;
  int draws = 0;
  while (!draw_story(qa, babi_facts(qa, c.params), rng, &story))
    if (++draws == kMaxStoryDraws)
      return Status::error(fmt::format("qa{}: no story of {} facts had a question to ask", qa,
                                       babi_facts(qa, c.params)));
  const size_t first = size_t(rng.below(c.natural->size()));
  Result<Example> ex = build_haystack_example(babi_layout(story), *c.natural, first, length,
                                              /*depth=*/-1, rng, c.params.full_lm_loss);
  if (!ex.ok()) return ex;
  ex->task = fmt::format("qa{}", qa);
  ex->answer = story.answer;
  ex->scoring = Scoring::kExactWord;
  ex->max_new_tokens = 16;  // the longest place and a little room
  return ex;
}

}  // namespace titans::data
