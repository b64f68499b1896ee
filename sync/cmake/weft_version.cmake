# weft_version.cmake - sets WEFT_VERSION ("MAJOR.MINOR.PATCH") and
# WEFT_VERSION_MAJOR from include/weft/version.h, where the version is
# written once. Included by weft's top level (before project()) and by
# sync/CMakeLists.txt (for a vendored sync/).
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/../include/weft/version.h weft_version_lines
     REGEX "^#define WEFT_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
foreach(part MAJOR MINOR PATCH)
  string(REGEX REPLACE ".*WEFT_VERSION_${part} ([0-9]+).*" "\\1" weft_version_${part}
         "${weft_version_lines}")
endforeach()
set(WEFT_VERSION ${weft_version_MAJOR}.${weft_version_MINOR}.${weft_version_PATCH})
set(WEFT_VERSION_MAJOR ${weft_version_MAJOR})
