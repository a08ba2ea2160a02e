// assets.h: declares the dashboard's web assets (ui/index.html, ui/app.js, ui/app.css), embedded in
// the binary at build time (cmake/embed_assets.cmake), so the page loads nothing from the network.
#pragma once

#include <string_view>

namespace northstar_local::detail {

extern const std::string_view kIndexHtml;
extern const std::string_view kAppJs;
extern const std::string_view kAppCss;

}  // namespace northstar_local::detail
