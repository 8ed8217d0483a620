#ifndef MODELHUB_TESTS_TESTING_ERROR_OF_H_
#define MODELHUB_TESTS_TESTING_ERROR_OF_H_

// The message of the error a call throws, for tests that check error text.

#include <gtest/gtest.h>

#include <exception>
#include <string>

namespace modelhub {
namespace testing {

// The what() of the `E` that `call` throws. When `call` throws nothing, or
// something that is not an `E`, the test fails (ADD_FAILURE) and the result is
// "<no E thrown>", which no assertion on a real message can match by accident.
template <typename E, typename Function>
std::string ErrorOf(Function&& call) {
  try {
    call();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected another exception type, got: " << e.what();
    return "<no E thrown>";
  } catch (...) {
    ADD_FAILURE() << "expected an exception, got a non-std one";
    return "<no E thrown>";
  }
  ADD_FAILURE() << "expected an exception, nothing was thrown";
  return "<no E thrown>";
}

}  // namespace testing
}  // namespace modelhub

#endif  // MODELHUB_TESTS_TESTING_ERROR_OF_H_
