// main.cpp: the northstar-local command line (serve | tree | dump | hash).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <pthread.h>
#include <unistd.h>

#include "northstar_local/server.h"

namespace {

constexpr const char* kVersion = "northstar-local 0.1.0";

constexpr const char* kUsage = R"(usage:
  northstar-local serve [--db PATH] [--port N] --api-key KEY[=PROJECT_UUID]... [--port-file FILE]
                        [--no-admin] [--quiet]
      Serve POST http://127.0.0.1:PORT/functions/v1/ingest-traces until SIGINT/SIGTERM.
      --db PATH        SQLite file (created if missing); default :memory:
      --port N         TCP port on 127.0.0.1; 0 (default) picks a free one
      --api-key K      accepted Bearer key, repeatable; "KEY=UUID" pins its project id, otherwise
                       the project id is derived from the key. NORTHSTAR_LOCAL_API_KEY (comma-
                       separated, same syntax) adds more.
      --port-file F    write the port to F once listening (removed again on shutdown)
      --no-admin       do not serve the /__admin/* test-control endpoints
      --quiet          do not log requests to stderr
  northstar-local tree --db PATH [--events] [--follow]
      print every run as an indented span tree
      --events         also print every event (type, time offset, content) under its span
      --follow         keep watching the database and print each run once it has finished,
                       until SIGINT/SIGTERM (the server may be writing it meanwhile)
  northstar-local dump --db PATH     print every stored row as one JSON object per line
  northstar-local hash KEY           print the SHA-256 hex the server stores for KEY
  northstar-local --help | --version
)";

int usage_error(const std::string& message) {
  std::cerr << "northstar-local: " << message << "\n\n" << kUsage;
  return 2;
}

northstar_local::ApiKey parse_key(std::string_view spec) {
  northstar_local::ApiKey key;
  const std::size_t eq = spec.rfind('=');
  if (eq != std::string_view::npos && spec.size() - eq - 1 == 36) {
    key.key = std::string(spec.substr(0, eq));
    key.project_id = std::string(spec.substr(eq + 1));
  } else {
    key.key = std::string(spec);
  }
  return key;
}

struct Args {
  std::string db_path;
  bool db_given = false;
  int port = 0;
  std::vector<northstar_local::ApiKey> keys;
  std::string port_file;
  bool admin = true;
  bool quiet = false;
  bool events = false;
  bool follow = false;
};

// Parses options after the subcommand; returns an error message or "".
std::string parse_options(int argc, char** argv, Args& args) {
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)name;
      return std::string(argv[++i]);
    };
    if (arg == "--db") {
      auto v = value(arg);
      if (!v) return "--db needs a path";
      args.db_path = *v;
      args.db_given = true;
    } else if (arg == "--port") {
      auto v = value(arg);
      if (!v) return "--port needs a number";
      char* end = nullptr;
      const long port = std::strtol(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || port < 0 || port > 65535) return "bad --port: " + *v;
      args.port = static_cast<int>(port);
    } else if (arg == "--api-key") {
      auto v = value(arg);
      if (!v) return "--api-key needs a key";
      args.keys.push_back(parse_key(*v));
    } else if (arg == "--port-file") {
      auto v = value(arg);
      if (!v) return "--port-file needs a path";
      args.port_file = *v;
    } else if (arg == "--no-admin") {
      args.admin = false;
    } else if (arg == "--quiet") {
      args.quiet = true;
    } else if (arg == "--events" && std::string_view(argv[1]) == "tree") {
      args.events = true;
    } else if (arg == "--follow" && std::string_view(argv[1]) == "tree") {
      args.follow = true;
    } else {
      return "unknown option: " + std::string(arg);
    }
  }
  return "";
}

bool write_port_file(const std::string& path, int port) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    if (!out) return false;
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

int serve(const Args& args) {
  northstar_local::ServerOptions options;
  options.db_path = args.db_given ? args.db_path : ":memory:";
  options.port = args.port;
  options.api_keys = args.keys;
  options.admin_endpoints = args.admin;
  options.log_requests_to_stderr = !args.quiet;
  if (const char* env = std::getenv("NORTHSTAR_LOCAL_API_KEY"); env != nullptr) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      if (!item.empty()) options.api_keys.push_back(parse_key(item));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (options.api_keys.empty()) {
    return usage_error("serve needs at least one --api-key (or NORTHSTAR_LOCAL_API_KEY)");
  }

  // Block the stop signals before any thread starts, so only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    northstar_local::Server server(options);
    server.start();
    std::cout << "listening on " << server.base_url() << std::endl;
    std::cerr << "[northstar-local] ingest endpoint " << server.ingest_url() << "\n";
    std::cerr << "[northstar-local] dashboard " << server.base_url() << "/\n";
    for (const auto& key : options.api_keys) {
      std::cerr << "[northstar-local] key sha256=" << northstar_local::sha256_hex(key.key).substr(0, 12)
                << "... -> project " << server.project_id_for(key.key) << "\n";
    }
    if (!args.port_file.empty() && !write_port_file(args.port_file, server.port())) {
      std::cerr << "northstar-local: cannot write port file " << args.port_file << "\n";
      return 1;
    }
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::cerr << "[northstar-local] " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
              << ", shutting down\n";
    server.stop();
    if (!args.port_file.empty()) std::remove(args.port_file.c_str());
  } catch (const std::exception& e) {
    std::cerr << "northstar-local: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// tree --follow: polls the database and prints each run once, when it is no longer running.
int follow_tree(const Args& args) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::set<std::string> printed;
  bool said_waiting = false;
  for (;;) {
    try {
      const auto snapshot = northstar_local::read_snapshot(args.db_path);
      northstar_local::TreeOptions options;
      options.events = args.events;
      for (const auto& run : snapshot.runs) {
        if (run.status != "running" && printed.count(run.id) == 0) options.run_ids.push_back(run.id);
      }
      if (!options.run_ids.empty()) {
        std::cout << northstar_local::render_tree(snapshot, options) << std::flush;
        printed.insert(options.run_ids.begin(), options.run_ids.end());
      }
    } catch (const std::exception& e) {
      if (!said_waiting) std::cerr << "northstar-local: waiting for " << args.db_path << ": " << e.what() << "\n";
      said_waiting = true;
    }
    const timespec poll{0, 300 * 1000 * 1000};
    if (sigtimedwait(&stop_signals, nullptr, &poll) > 0) return 0;
  }
}

int read_command(const Args& args, bool tree) {
  if (!args.db_given) return usage_error(std::string(tree ? "tree" : "dump") + " needs --db PATH");
  if (tree && args.follow) return follow_tree(args);
  try {
    const auto snapshot = northstar_local::read_snapshot(args.db_path);
    northstar_local::TreeOptions options;
    options.events = args.events;
    std::cout << (tree ? northstar_local::render_tree(snapshot, options)
                       : northstar_local::render_json_lines(snapshot));
    std::cout.flush();
  } catch (const std::exception& e) {
    std::cerr << "northstar-local: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("missing command");
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "--version") {
    std::cout << kVersion << "\n";
    return 0;
  }
  if (command == "hash") {
    if (argc != 3) return usage_error("hash needs exactly one KEY");
    std::cout << northstar_local::sha256_hex(argv[2]) << "\n";
    return 0;
  }
  if (command != "serve" && command != "tree" && command != "dump") {
    return usage_error("unknown command: " + std::string(command));
  }
  Args args;
  if (const std::string error = parse_options(argc, argv, args); !error.empty()) {
    return usage_error(error);
  }
  if (command == "serve") return serve(args);
  return read_command(args, command == "tree");
}
