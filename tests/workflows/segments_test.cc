// SMS segment counting: GSM-7 vs UCS-2, extension characters, concatenation limits.
#include "nextier/workflows/segments.h"

#include <gtest/gtest.h>

#include <string>

namespace nextier::workflows {
namespace {

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(CountSegmentsTest, EmptyTextHasNoSegments) {
  EXPECT_EQ(CountSegments(""), (SegmentInfo{SmsEncoding::kGsm7, 0, 0}));
}

TEST(CountSegmentsTest, Gsm7FitsOneSegmentUpTo160) {
  EXPECT_EQ(CountSegments(std::string(160, 'a')), (SegmentInfo{SmsEncoding::kGsm7, 160, 1}));
}

TEST(CountSegmentsTest, Gsm7Over160Uses153PerPart) {
  EXPECT_EQ(CountSegments(std::string(161, 'a')), (SegmentInfo{SmsEncoding::kGsm7, 161, 2}));
  EXPECT_EQ(CountSegments(std::string(306, 'a')).segments, 2);
  EXPECT_EQ(CountSegments(std::string(307, 'a')).segments, 3);
  EXPECT_EQ(CountSegments(std::string(459, 'a')).segments, 3);
}

TEST(CountSegmentsTest, ExtensionCharactersCountTwoSeptets) {
  for (const char* c : {"{", "}", "[", "]", "~", "^", "\\", "|", "\u20ac"}) {
    const SegmentInfo info = CountSegments(std::string("a") + c);
    EXPECT_EQ(info.encoding, SmsEncoding::kGsm7) << c;
    EXPECT_EQ(info.characters, 3) << c;
  }
  // 80 braces are 160 septets: one segment; 81 are two.
  EXPECT_EQ(CountSegments(std::string(80, '{')).segments, 1);
  EXPECT_EQ(CountSegments(std::string(81, '{')).segments, 2);
}

TEST(CountSegmentsTest, ExtensionCharacterIsNotSplitAcrossParts) {
  // 306 septets would fit two parts of 153, but the brace's two septets cannot straddle the
  // end of the first part (152 letters + 2 > 153), which pushes one letter into a third.
  const std::string text = std::string(152, 'a') + "{" + std::string(152, 'b');
  const SegmentInfo info = CountSegments(text);
  EXPECT_EQ(info.characters, 306);
  EXPECT_EQ(info.segments, 3);
}

TEST(CountSegmentsTest, GsmAccentedLettersAndSymbolsStayGsm7) {
  const SegmentInfo info = CountSegments("\u00e9\u00e8\u00f1\u00fc\u00c5\u00a3$@\u00a5\u00df_!?\n");
  EXPECT_EQ(info.encoding, SmsEncoding::kGsm7);
  EXPECT_EQ(info.characters, 14);
}

TEST(CountSegmentsTest, CurlyQuoteForcesUcs2) {
  const SegmentInfo info = CountSegments("What\u2019s the best email?");
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(info.characters, 22);
  EXPECT_EQ(info.segments, 1);
}

TEST(CountSegmentsTest, BacktickAndNonGsmLettersForceUcs2) {
  EXPECT_EQ(CountSegments("a`b").encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(CountSegments("\u00e1").encoding, SmsEncoding::kUcs2);  // á is not in GSM 03.38
  EXPECT_EQ(CountSegments("tab\there").encoding, SmsEncoding::kUcs2);
}

TEST(CountSegmentsTest, Ucs2FitsOneSegmentUpTo70) {
  const std::string text = "\u2019" + std::string(69, 'a');
  EXPECT_EQ(CountSegments(text), (SegmentInfo{SmsEncoding::kUcs2, 70, 1}));
}

TEST(CountSegmentsTest, Ucs2Over70Uses67PerPart) {
  EXPECT_EQ(CountSegments("\u2019" + std::string(70, 'a')),
            (SegmentInfo{SmsEncoding::kUcs2, 71, 2}));
  EXPECT_EQ(CountSegments("\u2019" + std::string(133, 'a')).segments, 2);  // 134 units
  EXPECT_EQ(CountSegments("\u2019" + std::string(134, 'a')).segments, 3);  // 135 units
}

TEST(CountSegmentsTest, EmojiCountsTwoUtf16Units) {
  const SegmentInfo info = CountSegments("Hi \U0001F600");
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(info.characters, 5);
  EXPECT_EQ(CountSegments(Repeat("\U0001F600", 35)), (SegmentInfo{SmsEncoding::kUcs2, 70, 1}));
  EXPECT_EQ(CountSegments(Repeat("\U0001F600", 36)).segments, 2);
}

TEST(CountSegmentsTest, SurrogatePairIsNotSplitAcrossParts) {
  // 134 units would fit two parts of 67, but after 66 units the emoji's pair cannot straddle
  // the end of the first part, which pushes one letter into a third.
  const SegmentInfo info =
      CountSegments("\u2019" + std::string(65, 'a') + "\U0001F600" + std::string(66, 'b'));
  EXPECT_EQ(info.characters, 134);
  EXPECT_EQ(info.segments, 3);
}

TEST(CountSegmentsTest, InvalidUtf8CountsAsReplacementCharacter) {
  const SegmentInfo info = CountSegments("ab\xff");
  EXPECT_EQ(info.encoding, SmsEncoding::kUcs2);
  EXPECT_EQ(info.characters, 3);
}

TEST(SmsEncodingNameTest, NamesBothEncodings) {
  EXPECT_EQ(SmsEncodingName(SmsEncoding::kGsm7), "GSM-7");
  EXPECT_EQ(SmsEncodingName(SmsEncoding::kUcs2), "UCS-2");
}

}  // namespace
}  // namespace nextier::workflows
