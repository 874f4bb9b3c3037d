// The word lists and patterns of synthetic movie titles (see data/synth_titles.hpp).
#include "data/synth_titles.hpp"

#include <array>
#include <string_view>
#include <vector>

namespace cinefactor::synth {
namespace {

constexpr std::string_view kAdjectives[] = {
    "Silent",   "Broken",      "Last",       "Hidden",   "Crimson",   "Golden",   "Dark",      "Lost",
    "Wild",     "Secret",      "Final",      "Burning",  "Frozen",    "Endless",  "Forgotten", "Distant",
    "Electric", "Savage",      "Quiet",      "Midnight", "Iron",      "Silver",   "Little",    "Dangerous",
    "Perfect",  "Lonely",      "Brave",      "Strange",  "Sweet",     "Bitter",   "Deadly",    "Eternal",
    "Fallen",   "Hollow",      "Restless",   "Scarlet",  "Shattered", "Sleeping", "Stolen",    "Velvet",
    "Wicked",   "Young",       "American",   "Northern", "Blue",      "Black",    "White",     "Red",
    "Green",    "Invisible",   "Impossible", "Crooked",  "Gentle",    "Hungry",   "Reckless",  "Royal",
    "Twisted",  "Dead",        "Happy",      "Big",      "Great",     "Long",     "Cold",      "Hot",
    "Lucky",    "Magnificent", "Naked",      "Open",     "Private"};
constexpr std::string_view kNouns[] = {
    "River",     "City",    "Night",    "Road",    "Heart",    "Storm",   "Shadow", "Dream",    "Kingdom",
    "Garden",    "Island",  "Mountain", "Summer",  "Winter",   "Highway", "Hunter", "Stranger", "Journey",
    "Promise",   "Mirror",  "Empire",   "Ocean",   "Forest",   "Legacy",  "Secret", "Fire",     "Rain",
    "Star",      "Moon",    "Sun",      "Game",    "War",      "Machine", "Angel",  "Ghost",    "Witness",
    "Detective", "Soldier", "Thief",    "Lover",   "Witch",    "King",    "Queen",  "Prince",   "Doctor",
    "Killer",    "Spy",     "Dragon",   "Wolf",    "Tiger",    "Horse",   "Bird",   "House",    "Hotel",
    "Train",     "Station", "Bridge",   "Tower",   "Castle",   "Harbor",  "Desert", "Valley",   "Frontier",
    "Planet",    "Galaxy",  "Signal",   "Code",    "Contract", "Verdict", "Escape", "Return",   "Revenge",
    "Silence",   "Memory",  "Wedding",  "Funeral", "Holiday",  "Party",   "Season", "Affair",   "Line",
    "Edge",      "Circle",  "Gate",     "Window",  "Door",     "Letter",  "Song",   "Dance",    "Voice",
    "Blood",     "Gold"};
constexpr std::string_view kNames[] = {
    "Harry",  "Annie", "Charlie", "Lola",  "Max",   "Rosemary", "Jack",   "Emma",  "Frank",  "Grace",
    "Billy",  "Lucy",  "Eddie",   "Mary",  "Oscar", "Nina",     "Walter", "Ruby",  "Sam",    "Vera",
    "Johnny", "Kate",  "Tom",     "Alice", "Henry", "Jules",    "Marty",  "Ellen", "Victor", "Stella"};
constexpr std::string_view kPlaces[] = {
    "Paris",     "Brooklyn", "Texas",     "Tokyo",      "Berlin",    "Chicago", "Rome",
    "Alaska",    "Vegas",    "Havana",    "Casablanca", "Manhattan", "Memphis", "Nevada",
    "Moscow",    "Venice",   "Vienna",    "Bombay",     "Dublin",    "Montana", "Saigon",
    "Marseille", "Oklahoma", "Hollywood", "Shanghai",   "Istanbul",  "Cairo",   "Sydney"};
constexpr std::string_view kSequels[] = {"II", "III", "2", "3", "Part II", "Returns", "Reloaded", "Forever"};

template <std::size_t N>
std::string_view pick(Rng& rng, const std::string_view (&words)[N]) {
  return words[rng.below(N)];
}

enum class TitlePattern {
  the_adj_noun,
  adj_noun,
  noun_of_the_noun,
  name_s_noun,
  adj_nouns,
  a_noun_in_place,
  subtitle,
  three_nouns,
  place_noun,
  the_noun,
  sequel,
  quoted_nickname
};
// Relative frequency of each pattern, in enum order. A leading "The"/"A" becomes ", The" at the end,
// so about a quarter of the titles carry a comma (RFC-4180 quoting), a few carry quotes.
constexpr std::array<double, 12> kTitlePatternShare = {0.12, 0.19, 0.10, 0.08, 0.12, 0.05,
                                                       0.08, 0.02, 0.10, 0.08, 0.05, 0.01};

}  // namespace

std::string make_title(Rng& rng) {
  static const AliasTable kPatterns(
      std::vector<double>(kTitlePatternShare.begin(), kTitlePatternShare.end()));
  const auto word = [&](const auto& list) { return std::string(pick(rng, list)); };
  switch (static_cast<TitlePattern>(kPatterns.draw(rng))) {
    case TitlePattern::the_adj_noun:
      return word(kAdjectives) + " " + word(kNouns) + ", The";
    case TitlePattern::adj_noun:
      return word(kAdjectives) + " " + word(kNouns);
    case TitlePattern::noun_of_the_noun:
      return word(kNouns) + " of the " + word(kNouns);
    case TitlePattern::name_s_noun:
      return word(kNames) + "'s " + word(kNouns);
    case TitlePattern::adj_nouns:
      return word(kAdjectives) + " " + word(kNouns) + "s";
    case TitlePattern::a_noun_in_place:
      return word(kNouns) + " in " + word(kPlaces) + ", A";
    case TitlePattern::subtitle:
      return word(kNouns) + ": The " + word(kAdjectives) + " " + word(kNouns);
    case TitlePattern::three_nouns:
      return word(kNouns) + ", " + word(kNouns) + " and " + word(kNouns);
    case TitlePattern::place_noun:
      return word(kPlaces) + " " + word(kNouns);
    case TitlePattern::the_noun:
      return word(kNouns) + ", The";
    case TitlePattern::sequel:
      return word(kAdjectives) + " " + word(kNouns) + " " + word(kSequels);
    case TitlePattern::quoted_nickname:
      return "\"" + word(kAdjectives) + "\" " + word(kNames);
  }
  return word(kNouns);
}

}  // namespace cinefactor::synth
