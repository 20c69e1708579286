// mp-test-dns: the test DNS server as a program, for end-to-end tests that drive
// `policyc run --dns-server`. Prints "127.0.0.1:PORT" once it serves, then runs until
// stdin closes (so it never outlives the test that started it) or it gets a signal.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/dnsd/test_dns_server.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: mp-test-dns ZONE-FILE [PORT]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "mp-test-dns: cannot read " << argv[1] << "\n";
    return 2;
  }
  std::stringstream zone;
  zone << in.rdbuf();
  try {
    mp::testing::TestDnsServer server(zone.str(), argc == 3 ? static_cast<uint16_t>(std::stoi(argv[2])) : 0);
    std::cout << server.address() << std::endl;
    while (std::getchar() != EOF) {
    }
  } catch (const std::exception& e) {
    std::cerr << "mp-test-dns: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
