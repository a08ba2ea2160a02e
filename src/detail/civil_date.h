// civil_date.h: the proleptic Gregorian date of a day count since 1970-01-01, for the RFC 3339
// timestamps the library writes (attribute values, NorthStar rows) without gmtime_r.
#pragma once

#include <cstdint>

namespace dagstack::logger::detail {

struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};

// The date `days` after 1970-01-01 (negative: before). Eras of 400 years starting on March 1st,
// so the leap day ends a year.
constexpr CivilDate civil_from_days(std::int64_t days) noexcept {
  days += 719468;  // days from 0000-03-01 to 1970-01-01
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_from_march = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
  const unsigned month = month_from_march < 10 ? month_from_march + 3 : month_from_march - 9;
  return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

static_assert(civil_from_days(0).year == 1970 && civil_from_days(0).month == 1 &&
              civil_from_days(0).day == 1);
static_assert(civil_from_days(-1).year == 1969 && civil_from_days(-1).month == 12 &&
              civil_from_days(-1).day == 31);
static_assert(civil_from_days(11016).year == 2000 && civil_from_days(11016).month == 2 &&
              civil_from_days(11016).day == 29);

}  // namespace dagstack::logger::detail
