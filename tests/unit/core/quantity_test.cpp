#include <doctest/doctest.h>

#include "core/quantity.hpp"

using namespace gantry;

TEST_CASE("sizes parse in binary and decimal units") {
  CHECK(parse_bytes("512MiB").value() == 512LL << 20);
  CHECK(parse_bytes("8GiB").value() == 8LL << 30);
  CHECK(parse_bytes("1.5GiB").value() == 3LL << 29);
  CHECK(parse_bytes("16G").value() == 16LL << 30);
  CHECK(parse_bytes("100MB").value() == 100'000'000);
  CHECK(parse_bytes("4096").value() == 4096);
  CHECK_FALSE(parse_bytes("").has_value());
  CHECK_FALSE(parse_bytes("-1GiB").has_value());
  CHECK_FALSE(parse_bytes("8 parsecs").has_value());
  CHECK(parse_bytes("8XB").error().message.find("unknown unit") != std::string::npos);
}

TEST_CASE("cpu amounts accept cores and millicores") {
  CHECK(parse_cpu_milli("2").value() == 2000);
  CHECK(parse_cpu_milli("0.5").value() == 500);
  CHECK(parse_cpu_milli("500m").value() == 500);
  CHECK_FALSE(parse_cpu_milli("0.0005").has_value());
  CHECK_FALSE(parse_cpu_milli("two").has_value());
  CHECK_FALSE(parse_cpu_milli("5k").has_value());
}

TEST_CASE("quantities print back in the units users write") {
  CHECK(format_bytes(8LL << 30) == "8GiB");
  CHECK(format_bytes(3LL << 29) == "1.5GiB");
  CHECK(format_bytes(1000) == "1000B");
  CHECK(format_cpu(2000) == "2");
  CHECK(format_cpu(500) == "0.5");
  CHECK(format_cpu(250) == "250m");
}

TEST_CASE("durations: units from ms to days, combined, and printed back exactly") {
  CHECK(parse_time_limit_ms("2h").value() == 7'200'000);
  CHECK(parse_time_limit_ms("90m").value() == 5'400'000);
  CHECK(parse_time_limit_ms("30s").value() == 30'000);
  CHECK(parse_time_limit_ms("1d").value() == 86'400'000);
  CHECK(parse_time_limit_ms("500ms").value() == 500);
  CHECK(parse_time_limit_ms("1h30m").value() == 5'400'000);
  CHECK(parse_time_limit_ms("1m1ms").value() == 60'001);
  CHECK(parse_time_limit_ms("3600").error().message.find("a unit is required") !=
        std::string::npos);
  for (const char* bad : {"", "0s", "-1h", "2 h", "1.5h", "h", "2w", "99999999999999999999s"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time_limit_ms(bad).has_value());
  }
  CHECK(format_duration(7'200'000) == "2h");
  CHECK(format_duration(5'400'000) == "1h30m");
  CHECK(format_duration(1500) == "1s500ms");
  CHECK(format_duration(86'400'000 + 1000) == "1d1s");
  for (int64_t ms : {1LL, 999LL, 1000LL, 61'001LL, 90'061'001LL})
    CHECK(parse_time_limit_ms(format_duration(ms)).value() == ms);
}

TEST_CASE("durations parse from ms up to days and print back") {
  CHECK(parse_duration_ms("500ms").value() == 500);
  CHECK(parse_duration_ms("30s").value() == 30'000);
  CHECK(parse_duration_ms("7d").value() == 7 * 86'400'000LL);
  CHECK_FALSE(parse_duration_ms("7").has_value());
  CHECK_FALSE(parse_duration_ms("1w").has_value());
  CHECK(format_duration_ms(7 * 86'400'000LL) == "7d");
  CHECK(format_duration_ms(25 * 3'600'000LL) == "25h");
  CHECK(format_duration_ms(1500) == "1500ms");
}
