// Solver checks in a child process: a crash or a hang costs the check, never the
// run, and what the child found comes back exactly.
#include "explore/isolated.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "explore/regex_smt.h"

namespace mp::explore {
namespace {

TEST(InChild, ReturnsWhatTheChildWrote) {
  std::string big(300000, 'x');  // more than a pipe holds at once
  EXPECT_EQ(in_child([] { return std::string("answer"); }, 5000), "answer");
  EXPECT_EQ(in_child([&] { return big; }, 5000), big);
}

TEST(InChild, ACrashIsNoAnswerAndTheParentGoesOn) {
  EXPECT_EQ(in_child(
                []() -> std::string {
                  ::raise(SIGSEGV);
                  return "never";
                },
                5000),
            std::nullopt);
  EXPECT_EQ(in_child([]() -> std::string { throw std::runtime_error("no"); }, 5000), std::nullopt);
  EXPECT_EQ(in_child([]() -> std::string { _exit(1); }, 5000), std::nullopt);
}

TEST(InChild, AChildPastItsLimitIsKilled) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(in_child(
                []() -> std::string {
                  ::sleep(30);
                  return "late";
                },
                200),
            std::nullopt);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10);  // killed at 0.2 s, not waited for
}

TEST(InChild, WhatTheChildChangesStaysThere) {
  int value = 1;
  EXPECT_EQ(in_child(
                [&] {
                  value = 2;
                  return std::to_string(value);
                },
                5000),
            "2");
  EXPECT_EQ(value, 1);
}

TEST(CheckInChild, AModelComesBackWithEveryValueExact) {
  z3::context ctx;
  z3::solver s(ctx);
  z3::expr text = ctx.string_const("text"), n = ctx.int_const("n"), r = ctx.real_const("r"),
           ip = ctx.bv_const("ip", 32), b = ctx.bool_const("b");
  s.add(text == string_constant(ctx, "a\\b \"c\":7:"));
  s.add(n == -12 && r * 3 == 1 && ip == ctx.bv_val(0x7f000002u, 32) && b);
  ChildCheck c = check_in_child(s, z3::expr_vector(ctx), {text, n, r, ip, b}, 10000);
  ASSERT_EQ(c.result, z3::sat);
  ASSERT_EQ(c.values.size(), 5u);
  z3::solver same(ctx);
  same.add(text == c.values[0] && n == c.values[1] && r == c.values[2] && ip == c.values[3] &&
           b == c.values[4]);
  same.add(!(text == string_constant(ctx, "a\\b \"c\":7:")) || n != -12 || r * 3 != 1 ||
           ip != ctx.bv_val(0x7f000002u, 32) || !b);
  EXPECT_EQ(same.check(), z3::unsat) << c.values[0] << " " << c.values[1] << " " << c.values[2];
}

TEST(CheckInChild, AnUnsatCoreNamesTheAssumptionsInIt) {
  z3::context ctx;
  z3::solver s(ctx);
  z3::expr x = ctx.string_const("x");
  z3::expr a = ctx.bool_const("a"), b = ctx.bool_const("b"), c = ctx.bool_const("c");
  s.add(z3::implies(a, z3::prefixof(string_constant(ctx, "ab"), x)));
  s.add(z3::implies(b, x.length() <= 3));
  s.add(z3::implies(c, z3::prefixof(string_constant(ctx, "b"), x)));
  z3::expr_vector assumptions(ctx);
  for (const auto& e : {b, a, c}) assumptions.push_back(e);
  ChildCheck checked = check_in_child(s, assumptions, {}, 10000);
  ASSERT_EQ(checked.result, z3::unsat);
  EXPECT_EQ(checked.core, (std::vector<unsigned>{1, 2}));  // a and c; b is no part of it
}

TEST(CheckInChild, AHardCheckPastItsLimitIsUnknown) {
  z3::context ctx;
  z3::solver s(ctx);
  // x·y = z over 64-bit integers with z a large semiprime: no quick answer.
  z3::expr x = ctx.bv_const("x", 64), y = ctx.bv_const("y", 64);
  auto value = [&](uint64_t v) { return ctx.bv_val(v, 64); };
  s.add(x * y == value(uint64_t{4294967291} * 4294967279));
  s.add(z3::ugt(x, value(1)) && z3::ugt(y, value(1)));
  s.add(z3::ult(x, value(uint64_t{1} << 32)) && z3::ult(y, value(uint64_t{1} << 32)));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(check_in_child(s, z3::expr_vector(ctx), {x}, 300).result, z3::unknown);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
}

}  // namespace
}  // namespace mp::explore
