// Tests for severity numbers, texts and level parsing (contract §2).
#include "dagstack/logger/severity.h"

#include <gtest/gtest.h>

#include "dagstack/logger/config_error.h"

namespace dl = dagstack::logger;

TEST(Severity, BaselinesAreTheOtelBucketStarts) {
  EXPECT_EQ(dl::kSeverityTrace, 1);
  EXPECT_EQ(dl::kSeverityDebug, 5);
  EXPECT_EQ(dl::kSeverityInfo, 9);
  EXPECT_EQ(dl::kSeverityWarn, 13);
  EXPECT_EQ(dl::kSeverityError, 17);
  EXPECT_EQ(dl::kSeverityFatal, 21);
}

TEST(Severity, BucketEdgesMapToTheSixTexts) {
  const std::pair<int, const char*> cases[] = {{1, "TRACE"},  {2, "TRACE"},  {4, "TRACE"},
                                               {5, "DEBUG"},  {8, "DEBUG"},  {9, "INFO"},
                                               {12, "INFO"},  {13, "WARN"},  {16, "WARN"},
                                               {17, "ERROR"}, {20, "ERROR"}, {21, "FATAL"},
                                               {24, "FATAL"}};
  for (const auto& [n, text] : cases) EXPECT_EQ(dl::severity_text(n), text) << n;
}

TEST(Severity, OutOfRangeTextsAreClampedNotThrown) {
  EXPECT_EQ(dl::severity_text(0), "TRACE");
  EXPECT_EQ(dl::severity_text(-3), "TRACE");
  EXPECT_EQ(dl::severity_text(25), "FATAL");
}

TEST(Severity, ParsesNamesCaseInsensitively) {
  EXPECT_EQ(dl::parse_severity("trace"), 1);
  EXPECT_EQ(dl::parse_severity("Debug"), 5);
  EXPECT_EQ(dl::parse_severity("INFO"), 9);
  EXPECT_EQ(dl::parse_severity("Warning"), 13);
  EXPECT_EQ(dl::parse_severity("warn"), 13);
  EXPECT_EQ(dl::parse_severity("error"), 17);
  EXPECT_EQ(dl::parse_severity("CRITICAL"), 21);
  EXPECT_EQ(dl::parse_severity("fatal"), 21);
  EXPECT_EQ(dl::parse_severity("11"), 11);
}

TEST(Severity, RejectsUnknownNamesWithTheContractText) {
  for (const char* bad : {"info2", "FATAL2", "", "verbose"}) {
    try {
      dl::parse_severity(bad);
      FAIL() << "accepted " << bad;
    } catch (const dl::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("unknown severity name '" + std::string(bad) + "'"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("expected one of"), std::string::npos);
    }
  }
}

TEST(Severity, RejectsNumbersOutsideTheRange) {
  for (int bad : {0, 25, -1}) {
    try {
      dl::Level(bad).resolve();
      FAIL() << bad;
    } catch (const dl::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("not in [1, 24]"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(dl::parse_severity("25"), dl::ConfigError);
}

TEST(Severity, LevelResolvesNamesAndNumbers) {
  EXPECT_EQ(dl::Level("warning").resolve(), 13);
  EXPECT_EQ(dl::Level(7).resolve(), 7);
  EXPECT_THROW(dl::Level("nope").resolve(), dl::ConfigError);
}
