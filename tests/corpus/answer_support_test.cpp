// Answer support (answers without a quote): the faithful and invented answers, English and Chinese,
// on which the 0.5 threshold in answer_support.h was measured, and the unit rules (stop words,
// stemming, digits, CJK bigrams split at function characters, the unit of doubt).
#include "corpus/answer_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smelt {
namespace {

// Chunks of the bundled fire-safety guide (examples/fire-safety/content.mjs), as the chunker cuts
// it at about 1,500 characters: an English section with its Chinese counterpart.
const std::string chunk_why =
    "Most fatal home fires happen at night while people are asleep. Smoke, not flames, is what kills: a "
    "sleeping person does not wake up from the smell of smoke. A working smoke alarm gives the household "
    "the one or two minutes it needs to get out.\nHomes with working smoke alarms have far fewer fire "
    "deaths than homes without them. The most common reason an alarm fails is a missing or dead "
    "battery.\n大多数致命的住宅火灾发生在夜间人们熟睡的时候。致命的往往是烟雾而不是火焰，熟睡的人不会因为"
    "闻到烟味而醒来。一个正常工作的烟雾报警器能为家人争取逃生所需的一两分钟。\n报警器失效最常见的原因是电池"
    "缺失或电量耗尽，因此每月测试一次非常重要。";
const std::string chunk_types =
    "Different alarms detect different dangers. Choose the type by what can go wrong in each room.\n"
    "| Type 类型 | Detects 探测对象 | Best place 最佳位置 |\n"
    "| Photoelectric smoke alarm 光电式烟雾报警器 | Smouldering fires, thick smoke 阴燃火灾 | Hallways, "
    "bedrooms 走廊、卧室 |\n"
    "| Ionization smoke alarm 离子式烟雾报警器 | Fast flaming fires 明火 | Living rooms 客厅 |\n"
    "| Heat alarm 感温报警器 | Rapid rise in temperature 温度骤升 | Kitchens, garages 厨房、车库 |\n"
    "| Carbon monoxide alarm 一氧化碳报警器 | CO gas from stoves and heaters 燃气一氧化碳 | Near gas "
    "appliances 燃气设备附近 |";
const std::string chunk_install =
    "Install a smoke alarm on every level of the home, inside every bedroom and outside each sleeping "
    "area. Mount alarms on the ceiling at least 30 cm from walls and light fittings, or high on a wall 10 "
    "to 30 cm below the ceiling.\nDo not put a smoke alarm in the kitchen or bathroom: cooking fumes and "
    "steam cause false alarms, and people then remove the battery. Use a heat alarm in the kitchen "
    "instead.\n每一层都应安装烟雾报警器，每间卧室内以及卧室外的走廊也要安装。报警器应安装在天花板上，距离墙"
    "壁和灯具至少30厘米。\n厨房和浴室不宜安装烟雾报警器，油烟和水蒸气容易引起误报。厨房应改用感温报警器。";
const std::string chunk_testing =
    "Press the test button once a month until the alarm sounds. Replace ordinary batteries once a year; "
    "alarms with sealed ten-year lithium batteries need no battery changes.\nReplace the whole smoke alarm "
    "ten years after the date printed on its back, even if it still beeps when tested: the sensor becomes "
    "less sensitive with age. A short chirp every minute means the battery is low.\n"
    "每月按一次测试按钮，直到报警器发出响声。普通电池每年更换一次。报警器本身使用十年后必须整体更换。每分钟一"
    "声短促的“嘀”声表示电池电量不足。\nGet out, stay out and call the fire service. Feel closed doors "
    "with the back of your hand before opening them; if a door is hot, use another way out. Stay low under "
    "the "
    "smoke.\n报警器响起时，应立即撤离，不要返回取物品，并拨打119报警。开门前先用手背试探门的温度，如果门很"
    "烫，应选择其他出口。在烟雾中应弯腰低姿前进。";

struct support_case {
  const std::string* chunk;
  const char* answer;
  bool supported;  // what the measure gives at the default threshold
};

// Faithful: the example's seed.jsonl answers, then paraphrases. Two faithful answers fall below the
// threshold and are marked false: a colloquial rewording and one whose facts are only in English.
const std::vector<support_case> faithful = {
    {&chunk_testing, "建议每月按一次测试按钮，直到报警器发出响声，确认它能正常工作。", true},
    {&chunk_testing, "普通电池每年更换一次；如果是内置十年锂电池的密封型报警器，则不需要更换电池。", true},
    {&chunk_testing, "每分钟一声短促的“嘀”声表示电池电量不足，需要尽快更换电池。", true},
    {&chunk_testing,
     "需要。报警器本身使用十年后必须整体更换，因为传感器会随时间变得不灵敏，即使测试时还能响也一样。",
     false},  // 0.49: 传感器/不灵敏 are only in the English text
    {&chunk_install, "不建议。厨房的油烟容易引起误报，厨房应改用感温报警器。", true},
    {&chunk_install, "安装在天花板上时，距离墙壁和灯具至少30厘米。", true},
    {&chunk_install, "每一层都应安装，每间卧室内以及卧室外的走廊也要安装。", true},
    {&chunk_testing,
     "立即撤离，不要返回取物品，并拨打119报警。开门前先用手背试探门的温度，如果门很烫就换一个出口，在烟雾中"
     "弯腰低姿前进。",
     true},
    {&chunk_why,
     "Because a sleeping person does not wake up from the smell of smoke. Most fatal home fires happen at "
     "night, and a working alarm gives the household the one or two minutes it needs to get out.",
     true},
    {&chunk_install,
     "A heat alarm. Smoke alarms in kitchens give false alarms from cooking fumes, and people then remove "
     "the battery.",
     true},
    {&chunk_types,
     "A photoelectric smoke alarm: it reacts to smouldering fires and thick smoke, and suits hallways and "
     "bedrooms.",
     true},
    {&chunk_types,
     "Near gas appliances such as stoves and heaters, since it detects the CO gas they can produce.", true},
    {&chunk_testing, "You should press the test button every month and wait until the alarm sounds.", true},
    {&chunk_testing,
     "Change ordinary batteries yearly; alarms with a sealed ten-year lithium battery never need a new one.",
     true},
    {&chunk_install, "Mount it on the ceiling, at least 30 cm away from walls and light fittings.", true},
    {&chunk_testing, "A short chirp every minute means the battery is running low.", true},
    {&chunk_testing, "每个月要按一次测试按钮，直到报警器响起来；普通电池一年换一次。", true},
    {&chunk_install, "报警器要装在天花板上，离墙壁和灯具至少30厘米。", true},
    {&chunk_why, "因为熟睡的人闻到烟味也不会醒来，而报警器能为家人争取一两分钟逃生。", true},
    {&chunk_why,
     "Smoke is the killer, not the flames, and people who are asleep won't be woken by the smell.", true},
    {&chunk_install,
     "No, steam and cooking fumes set off false alarms there, so fit a heat alarm in the kitchen instead.",
     true},
    {&chunk_testing, "Feel the door with the back of your hand first; if it's hot, find another way out.",
     true},
    {&chunk_testing,
     "Every ten years, counting from the date printed on its back, because the sensor loses sensitivity as "
     "it ages.",
     true},
    {&chunk_types, "Ionization alarms, which react to fast flaming fires; they suit living rooms.", true},
    {&chunk_testing, "开门之前先用手背摸一下门，门很烫的话就走别的出口。", true},
    {&chunk_install, "不要装在厨房和浴室，水蒸气和油烟会导致误报。", true},
    {&chunk_why, "因为报警器最常见的失效原因就是电池没了或者没电了。", true},
    {&chunk_testing, "短促的嘀声每分钟响一次，说明电池快没电了。", false},  // 0.47: 快没电了 for 电量不足
};

// Invented: plausible answers about the same topic that the chunk does not say.
const std::vector<support_case> invented = {
    {&chunk_testing, "Alarms must be certified by the fire department every year.", false},
    {&chunk_testing,
     "Clean the alarm with a vacuum cleaner every six months so dust does not block the sensor.", false},
    {&chunk_install, "Install smoke alarms next to windows so fresh air keeps the sensor working.", false},
    {&chunk_types, "Carbon monoxide alarms last fifteen years and must be wired into the mains.", false},
    {&chunk_testing, "If the alarm sounds, take the lift down and collect your valuables on the way.", false},
    {&chunk_why, "Most fires start in the kitchen because of unattended cooking oil.", false},
    {&chunk_testing, "Yes, the alarm can be tested with a lighter.", false},
    {&chunk_install, "The alarm should be installed 2 metres above the floor.", false},
    {&chunk_testing, "Call your landlord first, then the insurance company.", false},
    {&chunk_testing, "消防局每年都要对报警器进行认证。", false},
    {&chunk_testing, "烟雾报警器每半年需要用吸尘器清洁一次，否则灰尘会让它失灵。", false},
    {&chunk_install, "报警器应该安装在窗户旁边，这样通风效果最好。", false},
    {&chunk_types, "一氧化碳报警器可以使用十五年，需要接入市电。", false},
    {&chunk_testing, "家里着火时应该先用湿毛巾捂住口鼻，再乘电梯下楼。", false},
    {&chunk_why, "大多数火灾是因为厨房无人看管的油锅引起的。", false},
    {&chunk_testing, "报警器需要每周检查一次。", false},
    {&chunk_install, "报警器应距离地面两米安装。", false},
    {&chunk_testing, "先给物业打电话，再联系保险公司。", false},
};

TEST(answer_support, faithful_answers_are_supported) {
  size_t accepted = 0;
  for (const auto& c : faithful) {
    answer_support s = answer_support_measure(c.answer, *c.chunk);
    EXPECT_EQ(s.found, c.supported) << s.score << " " << c.answer;
    accepted += s.found;
  }
  EXPECT_EQ(accepted, faithful.size() - 2);
}

TEST(answer_support, invented_answers_are_not) {
  double highest = 0;
  for (const auto& c : invented) {
    answer_support s = answer_support_measure(c.answer, *c.chunk);
    EXPECT_FALSE(s.found) << s.score << " " << c.answer;
    highest = std::max(highest, s.score);
  }
  EXPECT_LE(highest, 0.5);
}

TEST(answer_support, counts_content_units_only) {
  // alarm, press, test, button, month: "you", "should", "the", "every", "a" are stop words, and
  // pressed/tests/monthly meet press/test/month in the chunk.
  answer_support s = answer_support_measure("You should have pressed the tests button monthly, every alarm!",
                                            "Press the test button once a month until the alarm sounds.");
  EXPECT_EQ(s.units, 5u);
  EXPECT_EQ(s.supported, 5u);
  EXPECT_DOUBLE_EQ(s.score, 5.0 / 6.0);
  EXPECT_TRUE(s.found);
  // A digit that the chunk does not have is an unsupported unit: room, 7, next, load, dock.
  s = answer_support_measure("Room 7, next to the loading dock.", "The apple is kept in room 1.");
  EXPECT_EQ(s.units, 5u);
  EXPECT_EQ(s.supported, 1u);
  EXPECT_FALSE(s.found);
}

TEST(answer_support, cjk_bigrams_split_at_function_characters) {
  // 按钮 | 测试 (的 splits; no 钮的 or 的测), 每月: three units, all in the chunk.
  answer_support s = answer_support_measure("按钮的测试，每月", "每月按一次测试按钮");
  EXPECT_EQ(s.units, 3u);
  EXPECT_EQ(s.supported, 3u);
  EXPECT_DOUBLE_EQ(s.score, 0.75);
  // 试测: both characters are in the chunk but not side by side, so half credit.
  s = answer_support_measure("测试试测", "每月按一次测试按钮");
  EXPECT_EQ(s.units, 3u);  // 测试, 试试, 试测
  EXPECT_EQ(s.supported, 1u);
  EXPECT_EQ(s.partial, 2u);
  // Full-width digits and Latin letters fold to ASCII: "３０厘米" meets "30厘米".
  s = answer_support_measure("至少３０厘米", "距离墙壁至少30厘米");
  EXPECT_EQ(s.supported, s.units);
}

TEST(answer_support, one_word_never_passes_and_empty_answers_have_no_units) {
  EXPECT_FALSE(answer_support_measure("Monthly.", "Test it monthly.").found);  // 1 / (1 + 1) = 0.5
  EXPECT_TRUE(answer_support_measure("Room 2.", "The bridge is kept in room 2.").found);
  answer_support s = answer_support_measure("Yes, it is.", "Yes, it is.");
  EXPECT_EQ(s.units, 0u);
  EXPECT_FALSE(s.found);
  EXPECT_FALSE(answer_support_measure("", "text").found);
  EXPECT_FALSE(answer_support_measure("Replace the battery.", "").found);
}

TEST(answer_support, a_contradiction_in_the_chunks_own_words_is_not_caught) {
  // Lexical support, not entailment (see answer_support.h): the swapped intervals pass.
  EXPECT_TRUE(
      answer_support_measure("Replace the battery every month and test the alarm once a year.", chunk_testing)
          .found);
}

}  // namespace
}  // namespace smelt
