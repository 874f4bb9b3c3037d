#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "server/assets.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

const std::filesystem::path kWebDir = std::filesystem::path(CINEFACTOR_SOURCE_DIR) / "web";

TEST(Assets, EveryFileUnderWebIsEmbeddedByteIdentical) {
  std::set<std::string> on_disk;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kWebDir)) {
    if (!entry.is_regular_file()) continue;
    const auto rel = std::filesystem::relative(entry.path(), kWebDir).generic_string();
    on_disk.insert(rel);
    const auto asset = find_asset(rel);
    ASSERT_TRUE(asset.has_value()) << rel << " is not embedded (re-run the configure step?)";
    EXPECT_EQ(asset->path, rel);
    EXPECT_EQ(std::string(asset->bytes), test::read_text(entry.path())) << rel;
  }
  ASSERT_FALSE(on_disk.empty());
  std::set<std::string> embedded;
  for (const auto& a : embedded_assets()) embedded.insert(std::string(a.path));
  EXPECT_EQ(embedded, on_disk);
}

TEST(Assets, TheAppFilesAreThere) {
  for (const char* name : {"app.css", "app.js", "favicon.svg", "openapi.json"}) {
    EXPECT_TRUE(find_asset(name).has_value()) << name;
  }
}

TEST(Assets, OnlyExactNamesMatch) {
  for (const char* name :
       {"", "/app.js", "./app.js", "../web/app.js", "app.js/", "APP.JS", "app.j", "app.jsx"}) {
    EXPECT_FALSE(find_asset(name).has_value()) << '"' << name << '"';
  }
}

TEST(Assets, ContentTypesFollowTheExtension) {
  EXPECT_EQ(find_asset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(find_asset("app.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(find_asset("favicon.svg")->content_type, "image/svg+xml");
  EXPECT_EQ(find_asset("openapi.json")->content_type, "application/json");
  EXPECT_EQ(content_type_for("x.unknown"), "application/octet-stream");
  EXPECT_EQ(content_type_for("html"), "application/octet-stream");
}

TEST(Assets, TheScriptUsesNoInlineHandlersOrHtmlStrings) {
  // The CSP forbids inline script; the app script must build DOM nodes, not HTML strings.
  const auto js = std::string(find_asset("app.js")->bytes);
  EXPECT_EQ(js.find("innerHTML"), std::string::npos);
  EXPECT_EQ(js.find("eval("), std::string::npos);
  EXPECT_EQ(js.find("document.write"), std::string::npos);
}

}  // namespace
}  // namespace cinefactor
