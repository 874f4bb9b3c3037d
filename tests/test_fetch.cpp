// Tests of `cinefactor data fetch` and its library (src/data/fetch_*.cpp): the registry and its
// embedded copy, MD5, unpacking (with zip-slip archives built here), atomic install, interruption by
// SIGKILL, and the download path against local HTTP servers on ephemeral loopback ports. Also the
// atomic publishing the install is built on (src/core/atomic_file.hpp: temporary names, staged
// directories, atomic files), which `data synth` and the binary caches share.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "cinefactor/error.hpp"
#include "cinefactor/fetch.hpp"
#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::run_cli;
using test::TempDir;
using test::write_text;

constexpr const char* kSmall = "ml-latest-small";
const std::vector<std::string> kSmallFiles = {"ratings.csv", "movies.csv", "links.csv", "tags.csv",
                                              "README.txt"};

fs::path shared_zip() {
  return test::shared_datasets() / "ml-latest-small.zip";
}

#define REQUIRE_SHARED_ZIP()                                                                \
  if (!fs::exists(shared_zip())) {                                                          \
    GTEST_SKIP() << "ml-latest-small.zip not found under " << test::shared_datasets()       \
                 << " (set CINEFACTOR_DATASETS to the folder holding ml-latest-small.zip)"; \
  }

const DatasetSpec& small_spec() {
  return *builtin_registry().find(kSmall);
}

// Every entry (name, bytes) of a zip, read with libzip independently of the unpacker.
std::map<std::string, std::string> zip_contents(const fs::path& zip) {
  int err = 0;
  zip_t* za = zip_open(zip.c_str(), ZIP_RDONLY, &err);
  EXPECT_NE(za, nullptr) << zip;
  std::map<std::string, std::string> out;
  if (za == nullptr) return out;
  for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st);
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    if (st.size > 0) {
      EXPECT_EQ(zip_fread(f, bytes.data(), st.size), static_cast<zip_int64_t>(st.size));
    }
    zip_fclose(f);
    out[st.name] = std::move(bytes);
  }
  zip_discard(za);
  return out;
}

struct TestEntry {
  std::string name;
  std::string content;
  std::uint32_t unix_mode = 0;  // st_mode to record (0: libzip's default, a regular file)
};

// Writes a zip with the given entries (names taken verbatim, so unsafe ones can be built).
void make_zip(const fs::path& path, const std::vector<TestEntry>& entries, bool store = false) {
  int err = 0;
  zip_t* za = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(za, nullptr);
  for (const auto& e : entries) {
    zip_int64_t index = -1;
    if (!e.name.empty() && e.name.back() == '/') {
      index = zip_dir_add(za, e.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* src = zip_source_buffer(za, e.content.data(), e.content.size(), 0);
      ASSERT_NE(src, nullptr);
      index = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    }
    ASSERT_GE(index, 0) << e.name << ": " << zip_strerror(za);
    if (store) zip_set_file_compression(za, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
    if (e.unix_mode != 0) {
      ASSERT_EQ(zip_file_set_external_attributes(za, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                                 e.unix_mode << 16),
                0);
    }
  }
  ASSERT_EQ(zip_close(za), 0) << zip_strerror(za);
}

std::set<std::string> entries_of(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& item : fs::directory_iterator(dir)) out.insert(item.path().filename().string());
  return out;
}

// Whether `dir` holds a temporary of dir/NAME made by process `pid` (".NAME.tmp-PID-...").
bool has_temporary(const fs::path& dir, const std::string& name, pid_t pid) {
  if (!fs::is_directory(dir)) return false;
  const auto prefix = "." + name + ".tmp-" + std::to_string(pid) + "-";
  for (const auto& entry : entries_of(dir)) {
    if (entry.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// A PID that belonged to a process that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// A loopback port nothing listens on: bound, read back, closed.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A cpp-httplib server on an ephemeral loopback port, run on its own thread.
class LocalServer {
 public:
  explicit LocalServer(const std::string& zip_bytes) : zip_(zip_bytes) {
    const std::string file = std::string("/") + kSmall + ".zip";
    server_.Get(file, [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(zip_, "application/zip");
    });
    server_.Get("/missing" + file, [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
    server_.Get("/redirect" + file,
                [file](const httplib::Request&, httplib::Response& res) { res.set_redirect(file); });
    server_.Get("/other" + file, [](const httplib::Request&, httplib::Response& res) {
      res.set_content("not the archive", "application/zip");
    });
    // Announces the full length, sends half, then drops the connection.
    server_.Get("/truncated" + file, [this](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(zip_.size(), "application/zip",
                               [this](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 const std::size_t half = zip_.size() / 2;
                                 if (offset >= half) return false;
                                 sink.write(zip_.data() + offset, half - offset);
                                 return true;
                               });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  std::string base(const std::string& prefix = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + prefix;
  }

 private:
  std::string zip_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

void expect_small_dataset(const fs::path& dataset) {
  const auto expected = zip_contents(shared_zip());
  for (const auto& file : kSmallFiles) {
    ASSERT_TRUE(fs::is_regular_file(dataset / file)) << dataset / file;
    const auto it = expected.find(std::string(kSmall) + "/" + file);
    ASSERT_NE(it, expected.end()) << file;
    EXPECT_TRUE(read_text(dataset / file) == it->second) << file << " differs from the zip entry";
  }
}

// ---- registry ------------------------------------------------------------------------------------

TEST(FetchRegistry, EmbeddedCopyEqualsTheRepositoryFile) {
  const fs::path file = fs::path(CINEFACTOR_SOURCE_DIR) / "datasets" / "movielens.json";
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(std::string(embedded_registry_text()), read_text(file));
  const auto from_file = load_registry(file);
  ASSERT_EQ(from_file.datasets.size(), builtin_registry().datasets.size());
  for (std::size_t i = 0; i < from_file.datasets.size(); ++i) {
    EXPECT_EQ(from_file.datasets[i].name, builtin_registry().datasets[i].name);
    EXPECT_EQ(from_file.datasets[i].md5, builtin_registry().datasets[i].md5);
  }
}

TEST(FetchRegistry, ListsTheOfficialArchives) {
  const auto& registry = builtin_registry();
  EXPECT_EQ(registry.names(), "ml-latest-small, ml-100k, ml-1m, ml-10m, ml-20m, ml-25m, ml-32m");
  for (const auto& spec : registry.datasets) {
    EXPECT_EQ(spec.url, "https://files.grouplens.org/datasets/movielens/" + spec.name + ".zip");
    EXPECT_EQ(spec.md5.size(), 32u) << spec.name;
    EXPECT_FALSE(spec.files.empty());
    EXPECT_GT(spec.approx_bytes, 0);
  }
  EXPECT_EQ(registry.find("ml-10m")->folder, "ml-10M100K");
  EXPECT_EQ(registry.find("ml-100k")->files.front(), "u.data");
  EXPECT_EQ(registry.find("ml-latest-small")->md5, "31a303aabbc519bd33d025e44d6c2570");
  EXPECT_EQ(registry.find("ml-2m"), nullptr);
  EXPECT_FALSE(registry.license.empty());
}

TEST(FetchRegistry, SharedZipHasThePublishedMd5) {
  REQUIRE_SHARED_ZIP();
  EXPECT_EQ(md5_file(shared_zip()), small_spec().md5);
}

TEST(FetchRegistry, RejectsMalformedEntries) {
  const auto doc = [](const std::string& entry) {
    return R"({"format": "cinefactor-movielens-registry", "version": 1, "datasets": [)" + entry + "]}";
  };
  const std::string good =
      R"({"name": "x", "url": "https://h/x.zip", "md5": "0123456789abcdef0123456789abcdef", "folder": "x", "files": ["a"]})";
  EXPECT_EQ(parse_registry(doc(good), "r.json").datasets.size(), 1u);
  const auto bad = [&](std::string entry, const std::string& from, const std::string& to) {
    entry.replace(entry.find(from), from.size(), to);
    EXPECT_THROW(parse_registry(doc(entry), "r.json"), FormatError) << entry;
  };
  bad(good, "0123456789abcdef0123456789abcdef", "0123");
  bad(good, "0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF");
  bad(good, R"("folder": "x")", R"("folder": "../x")");
  bad(good, R"("files": ["a"])", R"("files": ["../a"])");
  bad(good, R"("files": ["a"])", R"("files": [])");
  bad(good, R"("url": "https://h/x.zip")", R"("url": "ftp://h/x.zip")");
  bad(good, R"("name": "x")", R"("name": "../x")");
  EXPECT_THROW(parse_registry(doc(good + "," + good), "r.json"), FormatError);  // duplicate name
  EXPECT_THROW(parse_registry("{}", "r.json"), FormatError);
  EXPECT_THROW(parse_registry("not json", "r.json"), FormatError);
  try {
    parse_registry(R"({"format": "cinefactor-movielens-registry", "version": 2, "datasets": []})", "r.json");
    ADD_FAILURE();
  } catch (const FormatError& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("r.json: unsupported registry version"));
  }
}

TEST(FetchRegistry, UnknownChecksumRefusesToFetch) {
  const auto registry = parse_registry(
      R"({"format": "cinefactor-movielens-registry", "version": 1, "datasets": [
          {"name": "x", "url": "https://h/x.zip", "md5": null, "folder": "x", "files": ["a"]}]})",
      "r.json");
  TempDir tmp;
  FetchOptions options;
  options.dir = tmp / "d";
  options.from = tmp / "x.zip";
  try {
    fetch_dataset(registry.datasets.front(), options);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("no checksum is known for x"));
  }
  EXPECT_FALSE(fs::exists(tmp / "d"));
}

// ---- MD5 and unpacking ---------------------------------------------------------------------------

TEST(FetchMd5, KnownDigests) {
  TempDir tmp;
  write_text(tmp / "empty", "");
  write_text(tmp / "abc", "abc");
  EXPECT_EQ(md5_file(tmp / "empty"), "d41d8cd98f00b204e9800998ecf8427e");  // RFC 1321 test suite
  EXPECT_EQ(md5_file(tmp / "abc"), "900150983cd24fb0d6963f7d28e17f72");
  // Longer than one read chunk: a million 'a' (a well-known MD5 test vector).
  write_text(tmp / "million", std::string(1'000'000, 'a'));
  EXPECT_EQ(md5_file(tmp / "million"), "7707d6ae4e027c70eea2a935c2296f21");
  EXPECT_THROW(md5_file(tmp / "absent"), IoError);
}

// A FIFO given as --from or --registry is refused at once (reading it would wait for a writer forever).
TEST(FetchInputs, AFifoIsRefusedNotWaitedOn) {
  TempDir tmp;
  ASSERT_EQ(::mkfifo((tmp / "fifo").c_str(), 0600), 0);
  EXPECT_THAT(
      [&] { md5_file(tmp / "fifo"); },
      testing::ThrowsMessage<IoError>(testing::HasSubstr("fifo is a FIFO (named pipe), not a regular file")));
  EXPECT_THAT(
      [&] { load_registry(tmp / "fifo"); },
      testing::ThrowsMessage<IoError>(testing::HasSubstr("fifo is a FIFO (named pipe), not a regular file")));
}

TEST(FetchUnpack, WritesEveryEntry) {
  TempDir tmp;
  make_zip(tmp / "a.zip",
           {{"top/", ""}, {"top/a.txt", "alpha"}, {"top/sub/b.txt", std::string(3'000'000, 'b')}});
  fs::create_directory(tmp / "out");
  EXPECT_EQ(unpack_zip(tmp / "a.zip", tmp / "out"), 5 + 3'000'000);
  EXPECT_EQ(read_text(tmp / "out/top/a.txt"), "alpha");
  EXPECT_EQ(read_text(tmp / "out/top/sub/b.txt"), std::string(3'000'000, 'b'));
}

TEST(FetchUnpack, RejectsZipSlipEntries) {
  TempDir tmp;
  const std::vector<std::pair<TestEntry, std::string>> cases = {
      {{"../evil.txt", "x"}, "'..'"},
      {{"top/../../evil.txt", "x"}, "'..'"},
      {{"/tmp/evil.txt", "x"}, "absolute path"},
      {{"top\\..\\..\\evil.txt", "x"}, "backslash"},
      {{"top/link", "/etc/passwd", S_IFLNK | 0777}, "symbolic link"},
      {{"top/fifo", "", S_IFIFO | 0644}, "not a regular file"},
  };
  int n = 0;
  for (const auto& [entry, why] : cases) {
    const auto zip = tmp / ("evil" + std::to_string(n++) + ".zip");
    // A harmless entry first: the check must run before anything is written.
    make_zip(zip, {{"top/fine.txt", "fine"}, entry});
    const auto out = tmp / ("out" + std::to_string(n));
    fs::create_directories(out / "inner");
    try {
      unpack_zip(zip, out / "inner");
      ADD_FAILURE() << entry.name << " was unpacked";
    } catch (const FormatError& e) {
      EXPECT_THAT(e.what(), testing::HasSubstr("unsafe entry \"" + entry.name + "\""));
      EXPECT_THAT(e.what(), testing::HasSubstr(why));
      EXPECT_THAT(e.what(), testing::HasSubstr(zip.string()));
    }
    EXPECT_TRUE(fs::is_empty(out / "inner")) << entry.name;
    EXPECT_EQ(entries_of(out), std::set<std::string>{"inner"});
  }
  EXPECT_FALSE(fs::exists(tmp / "evil.txt"));
  EXPECT_FALSE(fs::exists("/tmp/evil.txt"));
}

TEST(FetchUnpack, RejectsAFileThatIsNoZip) {
  TempDir tmp;
  write_text(tmp / "x.zip", "PK but not really a zip archive");
  fs::create_directory(tmp / "out");
  EXPECT_THROW(unpack_zip(tmp / "x.zip", tmp / "out"), FormatError);
}

TEST(FetchCli, MaliciousArchiveWithAMatchingChecksumIsStillRejected) {
  TempDir tmp;
  make_zip(tmp / "evil.zip", {{"evil/ratings.csv", "1,1,5,0\n"}, {"evil/../../escape.txt", "x"}});
  write_text(tmp / "r.json", R"({"format": "cinefactor-movielens-registry", "version": 1, "datasets": [
      {"name": "evil", "url": "https://h/evil.zip", "md5": ")" +
                                 md5_file(tmp / "evil.zip") +
                                 R"(", "folder": "evil", "files": ["ratings.csv"]}]})");
  const auto r = run_cli({"data", "fetch", "evil", "--registry", (tmp / "r.json").string(), "--from",
                          (tmp / "evil.zip").string(), "--dir", (tmp / "d").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, testing::HasSubstr("unsafe entry"));
  EXPECT_TRUE(fs::is_empty(tmp / "d"));
  EXPECT_FALSE(fs::exists(tmp / "escape.txt"));
}

// ---- fetching from a local zip -------------------------------------------------------------------

TEST(FetchFrom, ZipFileUnpacksToName) {
  REQUIRE_SHARED_ZIP();
  TempDir tmp;
  FetchOptions options;
  options.dir = tmp / "datasets";
  options.from = shared_zip();
  const auto result = fetch_dataset(small_spec(), options);
  EXPECT_FALSE(result.already_present);
  EXPECT_FALSE(result.downloaded);
  EXPECT_EQ(result.md5, small_spec().md5);
  EXPECT_EQ(result.zip_bytes, static_cast<std::int64_t>(fs::file_size(shared_zip())));
  EXPECT_EQ(result.dataset_dir, tmp / "datasets" / kSmall);
  expect_small_dataset(tmp / "datasets" / kSmall);
  EXPECT_EQ(entries_of(tmp / "datasets"), std::set<std::string>{kSmall});  // no temporaries left
}

TEST(FetchCli, FromFileAndFromDirectory) {
  REQUIRE_SHARED_ZIP();
  TempDir tmp;
  auto r = run_cli({"data", "fetch", kSmall, "--from", shared_zip().string(), "--dir", (tmp / "a").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, testing::HasSubstr("31a303aabbc519bd33d025e44d6c2570 verified"));
  expect_small_dataset(tmp / "a" / kSmall);
  r = run_cli({"data", "fetch", kSmall, "--from", test::shared_datasets().string(), "--dir",
               (tmp / "b").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["md5"], "31a303aabbc519bd33d025e44d6c2570");
  EXPECT_EQ(json["source"], shared_zip().string());
  EXPECT_EQ(json["already_present"], false);
  expect_small_dataset(tmp / "b" / kSmall);
  EXPECT_EQ(entries_of(tmp / "b"), std::set<std::string>{kSmall});
}

TEST(FetchCli, BadChecksumNamesBothSumsAndLeavesNothing) {
  REQUIRE_SHARED_ZIP();
  TempDir tmp;
  std::string bytes = read_text(shared_zip());
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  write_text(tmp / "src" / "ml-latest-small.zip", bytes);
  const auto actual = md5_file(tmp / "src" / "ml-latest-small.zip");
  ASSERT_NE(actual, small_spec().md5);
  const auto r = run_cli(
      {"-q", "data", "fetch", kSmall, "--from", (tmp / "src").string(), "--dir", (tmp / "d").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, testing::HasSubstr("expected " + small_spec().md5));
  EXPECT_THAT(r.err, testing::HasSubstr("actual " + actual));
  EXPECT_THAT(r.err, testing::HasSubstr((tmp / "src" / "ml-latest-small.zip").string()));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
  EXPECT_TRUE(fs::is_empty(tmp / "d"));
}

TEST(FetchCli, MissingLocalZipIsAClearError) {
  TempDir tmp;
  const auto r =
      run_cli({"data", "fetch", kSmall, "--from", tmp.path().string(), "--dir", (tmp / "d").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, testing::HasSubstr((tmp / "ml-latest-small.zip").string() + ": no such file"));
}

TEST(FetchCli, ExistingCompleteDatasetIsLeftAlone) {
  REQUIRE_SHARED_ZIP();
  TempDir tmp;
  const auto dataset = tmp / "d" / kSmall;
  for (const auto& file : small_spec().files) write_text(dataset / file, "mine");
  const auto r =
      run_cli({"data", "fetch", kSmall, "--from", shared_zip().string(), "--dir", (tmp / "d").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, testing::HasSubstr("already present and complete"));
  EXPECT_EQ(read_text(dataset / "ratings.csv"), "mine");
}

TEST(FetchCli, ExistingIncompleteDatasetNeedsForce) {
  REQUIRE_SHARED_ZIP();
  TempDir tmp;
  write_text(tmp / "d" / kSmall / "ratings.csv", "mine");
  const auto r =
      run_cli({"data", "fetch", kSmall, "--from", shared_zip().string(), "--dir", (tmp / "d").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, testing::HasSubstr("missing movies.csv, links.csv, tags.csv"));
  EXPECT_THAT(r.err, testing::HasSubstr("--force"));
  EXPECT_EQ(read_text(tmp / "d" / kSmall / "ratings.csv"), "mine");
}

TEST(FetchCli, ForceReplacesTheDataset) {
  REQUIRE_SHARED_ZIP();
  TempDir tmp;
  const auto dataset = tmp / "d" / kSmall;
  for (const auto& file : small_spec().files) write_text(dataset / file, "old");
  write_text(dataset / "mine.txt", "old");
  const auto r = run_cli(
      {"data", "fetch", kSmall, "--from", shared_zip().string(), "--dir", (tmp / "d").string(), "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_small_dataset(dataset);
  EXPECT_FALSE(fs::exists(dataset / "mine.txt"));
  EXPECT_EQ(entries_of(tmp / "d"), std::set<std::string>{kSmall});
}

TEST(FetchCli, UnknownOrMissingNameIsAUsageError) {
  auto r = run_cli({"data", "fetch", "ml-2m"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, testing::HasSubstr("unknown dataset 'ml-2m'"));
  EXPECT_THAT(r.err, testing::HasSubstr(builtin_registry().names()));
  r = run_cli({"data", "fetch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, testing::HasSubstr(builtin_registry().names()));
}

TEST(FetchCli, ListShowsNamesSizesAndLicense) {
  auto r = run_cli({"data", "fetch", "--list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& spec : builtin_registry().datasets) EXPECT_THAT(r.out, testing::HasSubstr(spec.name));
  EXPECT_THAT(r.out, testing::HasSubstr("262.0 MB"));  // ml-25m
  EXPECT_THAT(r.out, testing::HasSubstr("License: GroupLens"));
  r = run_cli({"data", "fetch", "--list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["datasets"].size(), builtin_registry().datasets.size());
  EXPECT_EQ(json["datasets"][3]["folder"], "ml-10M100K");
}

// ---- atomic publishing (core/atomic_file.hpp) -----------------------------------------------------

TEST(FetchStagedDirectory, TemporaryNamesAreHiddenSiblingsNamingTheirProcess) {
  TempDir tmp;
  const auto a = temp_sibling(tmp / "data");
  const auto b = temp_sibling(tmp / "data");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.parent_path(), tmp.path());
  const auto prefix = ".data.tmp-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(a.filename().string().rfind(prefix, 0), 0u) << a;
  EXPECT_GT(a.filename().string().size(), prefix.size()) << a;
  // This process is alive: its temporaries are not stale.
  write_text(a, "mine");
  EXPECT_TRUE(remove_stale_temporaries(tmp / "data").empty());
  EXPECT_TRUE(fs::exists(a));
}

TEST(FetchStagedDirectory, RemovedWithItsContentUnlessCommitted) {
  TempDir tmp;
  {
    StagedDirectory staged(tmp / "out");
    EXPECT_EQ(staged.path().parent_path(), tmp.path());
    write_text(staged.path() / "sub" / "file", "x");
    EXPECT_TRUE(has_temporary(tmp.path(), "out", ::getpid()));
  }
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(FetchStagedDirectory, CommitReplacesAnExistingTargetOnlyWhenAsked) {
  TempDir tmp;
  const auto target = tmp / "out";
  const auto stage = [&](const std::string& content) {
    auto staged = std::make_unique<StagedDirectory>(target);
    write_text(staged->path() / "file", content);
    return staged;
  };
  EXPECT_TRUE(stage("one")->commit(false));
  EXPECT_EQ(read_text(target / "file"), "one");

  auto two = stage("two");
  EXPECT_FALSE(two->commit(false));
  two.reset();
  EXPECT_EQ(read_text(target / "file"), "one");
  EXPECT_EQ(entries_of(tmp.path()), std::set<std::string>{"out"});

  write_text(target / "stale", "from before");
  EXPECT_TRUE(stage("three")->commit(true));
  EXPECT_EQ(read_text(target / "file"), "three");
  EXPECT_FALSE(fs::exists(target / "stale"));
  EXPECT_EQ(entries_of(tmp.path()), std::set<std::string>{"out"});  // the old tree is gone

  fs::remove_all(target);
  fs::create_directory(target);  // an empty directory is replaced without asking
  EXPECT_TRUE(stage("four")->commit(false));
  EXPECT_EQ(read_text(target / "file"), "four");
}

TEST(FetchStagedDirectory, CommitsOneFolderOfItAndDropsTheRest) {
  TempDir tmp;
  const auto target = tmp / "out";
  write_text(target / "old", "old");
  {
    StagedDirectory staged(target);
    write_text(staged.path() / "inner" / "file", "new");
    write_text(staged.path() / "extra", "not published");
    EXPECT_TRUE(staged.commit(true, "inner"));
  }
  EXPECT_EQ(entries_of(target), std::set<std::string>{"file"});
  EXPECT_EQ(read_text(target / "file"), "new");
  EXPECT_EQ(entries_of(tmp.path()), std::set<std::string>{"out"});
}

TEST(FetchAtomicFile, AppearsOnlyWhenCommitted) {
  TempDir tmp;
  const auto target = tmp / "f.bin";
  {
    AtomicFile file(target);
    file.write("abandoned");
  }
  EXPECT_TRUE(fs::is_empty(tmp.path()));
  {
    AtomicFile file(target);
    file.write("first");
    EXPECT_FALSE(fs::exists(target));
    EXPECT_TRUE(has_temporary(tmp.path(), "f.bin", ::getpid()));
    file.commit();
  }
  EXPECT_EQ(read_text(target), "first");
  write_file_atomic(target, "second");
  EXPECT_EQ(read_text(target), "second");
  EXPECT_EQ(entries_of(tmp.path()), std::set<std::string>{"f.bin"});
}

// ---- stale temporaries and interruption ----------------------------------------------------------

TEST(FetchStale, RemovesTemporariesOfDeadProcessesOnly) {
  TempDir tmp;
  const auto dead = std::to_string(dead_pid());
  const auto live = std::to_string(::getppid());
  const std::string mine = ".ml-latest-small.tmp-";
  write_text(tmp / (mine + dead + "-1a") / "ml-latest-small" / "ratings.csv", "half");  // unpacking
  write_text(tmp / (".ml-latest-small.zip.tmp-" + dead + "-2b"), "half");               // downloading
  write_text(tmp / (mine + dead + "-3c") / "x", "old");  // a replaced dataset moved aside
  write_text(tmp / (mine + live + "-4d") / "x", "busy");
  write_text(tmp / (".ml-100k.tmp-" + dead + "-5e") / "x", "other dataset");
  write_text(tmp / (mine + "abc-6f") / "x", "not a pid");
  write_text(tmp / (mine + dead) / "x", "not a temporary name");
  EXPECT_EQ(remove_stale_partials(tmp.path(), kSmall), 3);
  EXPECT_EQ(entries_of(tmp.path()),
            (std::set<std::string>{mine + live + "-4d", ".ml-100k.tmp-" + dead + "-5e", mine + "abc-6f",
                                   mine + dead}));
}

// Runs `cinefactor args...` as a child with its output discarded; returns its PID.
pid_t spawn_cli(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(CINEFACTOR_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(CINEFACTOR_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

TEST(FetchInterrupt, SigkillWhileUnpackingNeverLeavesAPartialDataset) {
  // A synthetic archive large enough that unpacking (with an fsync per file) takes a while: four
  // stored 16 MB files, registered under its own MD5 through --registry.
  constexpr std::size_t kFileBytes = std::size_t{16} << 20;
  constexpr int kTries = 4;
  TempDir tmp;
  std::vector<TestEntry> entries;
  std::mt19937 rng(42);
  const std::vector<std::string> files = {"ratings.csv", "movies.csv", "links.csv", "tags.csv"};
  for (const auto& file : files) {
    std::string content(kFileBytes, '\0');
    for (auto& c : content) c = static_cast<char>('0' + rng() % 10);
    entries.push_back({"big/" + file, std::move(content)});
  }
  make_zip(tmp / "big.zip", entries, /*store=*/true);
  write_text(tmp / "r.json",
             R"({"format": "cinefactor-movielens-registry", "version": 1, "datasets": [
      {"name": "big", "url": "https://h/big.zip", "md5": ")" +
                 md5_file(tmp / "big.zip") +
                 R"(", "folder": "big", "files": ["ratings.csv", "movies.csv", "links.csv", "tags.csv"]}]})");
  const auto dir = tmp / "d";
  const std::vector<std::string> args = {"-q",         "data",
                                         "fetch",      "big",
                                         "--registry", (tmp / "r.json").string(),
                                         "--from",     (tmp / "big.zip").string(),
                                         "--dir",      dir.string(),
                                         "--force"};
  const auto check_never_partial = [&] {
    if (!fs::exists(dir / "big")) return;
    for (std::size_t i = 0; i < files.size(); ++i) {
      ASSERT_EQ(fs::file_size(dir / "big" / files[i]), kFileBytes) << files[i] << " is partial";
    }
  };
  int killed_while_unpacking = 0;
  bool last_left_partial = false;
  std::uniform_int_distribution<int> delay_ms(0, 40);
  for (int attempt = 0; attempt < kTries; ++attempt) {
    const pid_t pid = spawn_cli(args);
    ASSERT_GT(pid, 0);
    // Wait until the child has verified the MD5 and started unpacking, then kill it a little later.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    bool exited = false;
    while (!has_temporary(dir, "big", pid) && std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_FALSE(exited) << "the fetch ended before unpacking began (exit status " << status << ")";
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt == 0 ? 0 : delay_ms(rng)));
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    last_left_partial = has_temporary(dir, "big", pid);
    if (last_left_partial) ++killed_while_unpacking;
    check_never_partial();
    // Each fetch removes the partial directory its killed predecessor left before making its own.
    int partials = 0;
    for (const auto& name : entries_of(dir)) partials += name.rfind(".big.tmp-", 0) == 0 ? 1 : 0;
    EXPECT_LE(partials, 1);
  }
  EXPECT_GE(killed_while_unpacking, 1) << "no kill landed while unpacking: the test exercised nothing";
  // The next fetch succeeds and removes every stale temporary.
  const auto r = run_cli({"data", "fetch", "big", "--registry", (tmp / "r.json").string(), "--from",
                          (tmp / "big.zip").string(), "--dir", dir.string(), "--force", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["stale_removed"].get<int>(), last_left_partial ? 1 : 0);
  check_never_partial();
  EXPECT_EQ(entries_of(dir), std::set<std::string>{"big"});
  EXPECT_EQ(read_text(dir / "big" / "tags.csv"), entries[3].content);
}

// ---- download path -------------------------------------------------------------------------------

TEST(FetchDownload, FromALocalServer) {
  REQUIRE_SHARED_ZIP();
  const LocalServer server(read_text(shared_zip()));
  TempDir tmp;
  FetchOptions options;
  options.dir = tmp / "d";
  options.base_url = server.base();
  const auto result = fetch_dataset(small_spec(), options);
  EXPECT_TRUE(result.downloaded);
  EXPECT_EQ(result.source, server.base() + "/ml-latest-small.zip");
  EXPECT_EQ(result.md5, small_spec().md5);
  expect_small_dataset(tmp / "d" / kSmall);
  EXPECT_EQ(entries_of(tmp / "d"), std::set<std::string>{kSmall});  // the downloaded zip is gone too
}

TEST(FetchDownload, FollowsRedirects) {
  REQUIRE_SHARED_ZIP();
  const LocalServer server(read_text(shared_zip()));
  TempDir tmp;
  EXPECT_EQ(download_file(server.base("/redirect/ml-latest-small.zip"), tmp / "z"),
            static_cast<std::int64_t>(fs::file_size(shared_zip())));
  EXPECT_EQ(md5_file(tmp / "z"), small_spec().md5);
}

TEST(FetchDownload, NotFoundTruncatedAndWrongContentLeaveNothing) {
  REQUIRE_SHARED_ZIP();
  const LocalServer server(read_text(shared_zip()));
  TempDir tmp;
  const auto expect_error = [&](const std::string& prefix, const std::string& what) {
    FetchOptions options;
    options.dir = tmp / "d";
    options.base_url = server.base(prefix);
    try {
      fetch_dataset(small_spec(), options);
      ADD_FAILURE() << prefix;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), testing::HasSubstr(server.base(prefix) + "/ml-latest-small.zip")) << prefix;
      EXPECT_THAT(e.what(), testing::HasSubstr(what)) << prefix;
    }
    EXPECT_TRUE(fs::is_empty(tmp / "d")) << prefix;
  };
  expect_error("/missing", "HTTP status 404");
  expect_error("/missing", "use --from PATH with a local copy of the zip");
  expect_error("/truncated", "cannot download");
  expect_error("/other", "MD5 mismatch");
}

TEST(FetchDownload, HttpsClientVerifiesTheServer) {
  // No TLS server can be reached from the tests; these exercise the HTTPS client up to the handshake.
  const LocalServer server("unused");
  TempDir tmp;
  const auto https = "https://127.0.0.1:" + server.base().substr(server.base().rfind(':') + 1) + "/x.zip";
  try {
    download_file(https, tmp / "z");
    ADD_FAILURE();
  } catch (const IoError& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("cannot download " + https + ": TLS handshake failed"));
  }
  DownloadOptions no_ca;
  no_ca.ca_bundle = (tmp / "no-such-bundle.crt").string();
  EXPECT_THROW(download_file(https, tmp / "z", no_ca), IoError);
  EXPECT_TRUE(fs::is_empty(tmp.path()));
  EXPECT_THROW(download_file("ftp://127.0.0.1/x.zip", tmp / "z"), IoError);
}

TEST(FetchCli, DownloadThroughUrlOptionAndEnvironment) {
  REQUIRE_SHARED_ZIP();
  const LocalServer server(read_text(shared_zip()));
  TempDir tmp;
  auto r = run_cli({"data", "fetch", kSmall, "--url", server.base(), "--dir", (tmp / "a").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_small_dataset(tmp / "a" / kSmall);
  ::setenv("CINEFACTOR_MOVIELENS_URL", server.base("/missing").c_str(), 1);
  r = run_cli({"data", "fetch", kSmall, "--dir", (tmp / "b").string()});
  ::unsetenv("CINEFACTOR_MOVIELENS_URL");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, testing::HasSubstr(server.base("/missing") + "/ml-latest-small.zip: HTTP status 404"));
}

TEST(FetchCli, UnreachableServerIsAOneLineError) {
  TempDir tmp;
  const auto base = "http://127.0.0.1:" + std::to_string(closed_port());
  const auto r = run_cli({"data", "fetch", "ml-1m", "--url", base, "--dir", (tmp / "d").string()});
  EXPECT_EQ(r.exit_code, 1);
  const std::string line =
      "cinefactor: error: cannot download " + base + "/ml-1m.zip: cannot connect to " + base;
  EXPECT_THAT(r.err, testing::HasSubstr(line));
  EXPECT_THAT(r.err, testing::EndsWith("; use --from PATH with a local copy of the zip\n"));
  EXPECT_TRUE(fs::is_empty(tmp / "d"));
}

}  // namespace
}  // namespace cinefactor
