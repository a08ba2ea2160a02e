# Included by CTest after the discovered tests of northstar_no_loss_test are defined (see
# tests/northstar/CMakeLists.txt): the flush-latency test bounds wall time, so it runs alone
# rather than sharing the cores with other tests under ctest -j.
cmake_policy(SET CMP0057 NEW)  # IN_LIST
set(_flush_latency_test NorthStarNoLossTest.FlushReturnsAsSoonAsEverythingIsDelivered)
if(_flush_latency_test IN_LIST northstar_no_loss_test_TESTS)
  set_tests_properties(${_flush_latency_test} PROPERTIES RUN_SERIAL TRUE)
endif()
