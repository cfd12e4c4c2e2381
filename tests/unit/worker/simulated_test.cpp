#include <doctest/doctest.h>

#include "worker/inventory/simulated.hpp"

using namespace gantry;
using namespace gantry::inventory;

namespace {

// The error message parse_simulated_gpus gives for `spec`, or "" when it parses.
std::string error_of(std::string_view spec) {
  auto r = parse_simulated_gpus(spec);
  if (r) return "";
  CHECK(r.error().code == errc::invalid_argument);
  return r.error().message;
}

const std::string kForm =
    "; expected <count>x<model>:<memory> joined by commas, e.g. 4xH100:80GiB or "
    "2xA100:40GiB,2xT4:16GiB";

}  // namespace

TEST_CASE("a simulated spec of one kind gives that many simulated GPUs") {
  auto gpus = parse_simulated_gpus("4xH100:80GiB");
  REQUIRE(gpus.has_value());
  REQUIRE(gpus->size() == 4);
  for (int i = 0; i < 4; ++i) {
    const gpu_info& g = (*gpus)[i];
    CHECK(g.index == i);
    CHECK(g.model == "H100");
    CHECK(g.memory_bytes == 80LL << 30);
    CHECK(g.simulated);
    CHECK(g.nvlink_group == 0);
    CHECK(g.uuid == "SIM-H100-" + std::to_string(i));
  }
  CHECK((*gpus)[0].numa_node == 0);
  CHECK((*gpus)[1].numa_node == 0);
  CHECK((*gpus)[2].numa_node == 1);
  CHECK((*gpus)[3].numa_node == 1);
}

TEST_CASE("mixed simulated specs number GPUs across parts") {
  auto gpus = parse_simulated_gpus("2xA100:40GiB, 2xT4:16GiB");
  REQUIRE(gpus.has_value());
  REQUIRE(gpus->size() == 4);
  CHECK((*gpus)[0].model == "A100");
  CHECK((*gpus)[1].memory_bytes == 40LL << 30);
  CHECK((*gpus)[2].model == "T4");
  CHECK((*gpus)[2].index == 2);
  CHECK((*gpus)[2].uuid == "SIM-T4-2");
  CHECK((*gpus)[3].memory_bytes == 16LL << 30);
  CHECK((*gpus)[3].numa_node == 1);
}

TEST_CASE("simulated GPUs form NVLink groups of eight") {
  auto gpus = parse_simulated_gpus("16xH200:141GiB,1xA10G-24:24GiB");
  REQUIRE(gpus.has_value());
  REQUIRE(gpus->size() == 17);
  CHECK((*gpus)[7].nvlink_group == 0);
  CHECK((*gpus)[8].nvlink_group == 1);
  CHECK((*gpus)[15].nvlink_group == 1);
  CHECK((*gpus)[16].nvlink_group == 2);
  CHECK((*gpus)[16].model == "A10G-24");
  CHECK((*gpus)[8].numa_node == 0);  // 8*2/17
  CHECK((*gpus)[9].numa_node == 1);  // 9*2/17
  CHECK(parse_simulated_gpus("64xT4:16GiB")->size() == 64);
}

TEST_CASE("bad simulated specs name the bad part and show the expected form") {
  CHECK(error_of("") ==
        "simulated GPU spec is empty; expected <count>x<model>:<memory> joined by commas, "
        "e.g. 4xH100:80GiB or 2xA100:40GiB,2xT4:16GiB");
  CHECK(error_of("4xH100") == "simulated GPU spec \"4xH100\": missing \":<memory>\"" + kForm);
  CHECK(error_of("xH100:80GiB") ==
        "simulated GPU spec \"xH100:80GiB\": missing <count> before 'x'" + kForm);
  CHECK(error_of("4H100:80GiB") ==
        "simulated GPU spec \"4H100:80GiB\": missing 'x' after the count 4" + kForm);
  CHECK(error_of("0xH100:80GiB") ==
        "simulated GPU spec \"0xH100:80GiB\": count 0 is not between 1 and 64" + kForm);
  CHECK(error_of("65xH100:80GiB") ==
        "simulated GPU spec \"65xH100:80GiB\": count 65 is not between 1 and 64" + kForm);
  CHECK(error_of("99999999999999999999xH100:80GiB") ==
        "simulated GPU spec \"99999999999999999999xH100:80GiB\": count 99999999999999999999 "
        "is not between 1 and 64" +
            kForm);
  CHECK(error_of("4x:80GiB") ==
        "simulated GPU spec \"4x:80GiB\": missing <model> between 'x' and ':'" + kForm);
  CHECK(error_of("4xH_100:80GiB") ==
        "simulated GPU spec \"4xH_100:80GiB\": model \"H_100\" may use only letters, digits "
        "and '-'" +
            kForm);
  CHECK(error_of("4xH100:") ==
        "simulated GPU spec \"4xH100:\": missing <memory> after ':'" + kForm);
  CHECK(error_of("4xH100:lots") ==
        "simulated GPU spec \"4xH100:lots\": memory \"lots\" is not a size (expected e.g. "
        "512MiB or 8GiB)" +
            kForm);
  CHECK(error_of("4xH100:0GiB") ==
        "simulated GPU spec \"4xH100:0GiB\": memory \"0GiB\" must be above 0" + kForm);
  CHECK(error_of("2xA100:40GiB,,2xT4:16GiB") ==
        "simulated GPU spec \"2xA100:40GiB,,2xT4:16GiB\": part 2 is empty" + kForm);
  CHECK(error_of("2xA100:40GiB,2xT4") ==
        "simulated GPU spec \"2xT4\": missing \":<memory>\"" + kForm);
}

TEST_CASE("simulated DPUs are BlueField-3 and marked simulated") {
  auto dpus = make_simulated_dpus(2);
  REQUIRE(dpus.size() == 2);
  CHECK(dpus[1].index == 1);
  CHECK(dpus[0].model == "BlueField-3 (simulated)");
  CHECK(dpus[0].simulated);
  CHECK(make_simulated_dpus(0).empty());
}
