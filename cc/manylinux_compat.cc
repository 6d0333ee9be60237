// Older symbol versions for what gcc 12's headers reference, so that the libraries load where TensorFlow's own
// manylinux_2_27 wheels do (glibc 2.27, GLIBCXX 3.4.24, CXXABI 1.3.11) although they are built against glibc 2.36
// and gcc 12. TF's own toolchain does the same with libstdc++_nonshared.a. CMakeLists.txt links this file whole into
// every library and keeps its symbols out of the dynamic symbol table (--exclude-libs), so each definition here
// serves only the library it sits in. tests/test_linkage.py reads the symbol versions of every library.
//
// What each definition replaces, and what references it:
//   std::__throw_bad_array_new_length   GLIBCXX_3.4.29  new[] and std::allocator in gcc 12's headers
//   exception_ptr::_M_addref/_M_release CXXABI_1.3.13   std::exception_ptr's inline copy and destructor (pybind11)
//   pthread_once                        GLIBC_2.34      std::call_once, through gthr-posix.h
//   pthread_mutex_trylock               GLIBC_2.34      std::mutex::try_lock (thread_pool.cc)
//   pthread_setname_np                  GLIBC_2.34      the pool's worker names (thread_pool.cc)
//   condition_variable::wait            GLIBCXX_3.4.30  the pool's parked workers (thread_pool.cc)
//   __libc_single_threaded              GLIBC_2.32      the reference counts of shared_ptr and std::string
//   std::stringstream's default ctor    GLIBCXX_3.4.26  the error messages of jaxlib's XLA FFI headers
#include <pthread.h>

#include <exception>
#include <new>
#include <sstream>

// The versions at which glibc first exported pthread_once and pthread_mutex_trylock (BASE), and pthread_setname_np.
#if defined(__x86_64__)
#define LRN_GLIBC_BASE "GLIBC_2.2.5"
#define LRN_GLIBC_SETNAME "GLIBC_2.12"
#elif defined(__aarch64__)
#define LRN_GLIBC_BASE "GLIBC_2.17"
#define LRN_GLIBC_SETNAME "GLIBC_2.17"
#else
#error "manylinux_compat.cc knows the base glibc symbol version of x86-64 and aarch64 only"
#endif

// The out-of-line copy constructor and destructor of std::exception_ptr, exported by every libstdc++ since gcc 4.4,
// condition_variable::wait as every libstdc++ since gcc 4.4 exports it, and the pthread functions at the versions
// every glibc exports them (from libpthread.so.0 before glibc 2.34, from libc.so.6 after; the dynamic loader matches
// the version, not the file).
extern "C" void lrn_exception_ptr_copy(void* self, const void* other) noexcept;
extern "C" void lrn_exception_ptr_destroy(void* self) noexcept;
extern "C" void lrn_condition_variable_wait_base(void* self, void* lock);
extern "C" int lrn_pthread_once_base(int* once, void (*init)());
extern "C" int lrn_pthread_mutex_trylock_base(void* mutex);
extern "C" int lrn_pthread_setname_np_base(unsigned long thread, const char* name);
__asm__(".symver lrn_exception_ptr_copy, _ZNSt15__exception_ptr13exception_ptrC1ERKS0_@CXXABI_1.3.3");
__asm__(".symver lrn_exception_ptr_destroy, _ZNSt15__exception_ptr13exception_ptrD1Ev@CXXABI_1.3.3");
__asm__(".symver lrn_condition_variable_wait_base, "
        "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
__asm__(".symver lrn_pthread_once_base, pthread_once@" LRN_GLIBC_BASE);
__asm__(".symver lrn_pthread_mutex_trylock_base, pthread_mutex_trylock@" LRN_GLIBC_BASE);
__asm__(".symver lrn_pthread_setname_np_base, pthread_setname_np@" LRN_GLIBC_SETNAME);

namespace std {

void __throw_bad_array_new_length() { throw bad_array_new_length(); }

namespace __exception_ptr {

// A copy made by the old constructor and never destroyed holds the added reference.
void exception_ptr::_M_addref() noexcept {
  void* copy;
  lrn_exception_ptr_copy(&copy, this);
}

// The old destructor drops the reference through a copy of the pointer, then this one lets go of it.
void exception_ptr::_M_release() noexcept {
  void* copy = _M_exception_object;
  lrn_exception_ptr_destroy(&copy);
  _M_exception_object = nullptr;
}

}  // namespace __exception_ptr
}  // namespace std

// The default constructor of std::stringstream, exported since GLIBCXX_3.4.26, as the constructor with an open mode
// (GLIBCXX_3.4.21) that the default one delegates to.
void lrn_stringstream_default(std::stringstream* self) __asm__(
    "_ZNSt7__cxx1118basic_stringstreamIcSt11char_traitsIcESaIcEEC1Ev");
void lrn_stringstream_default(std::stringstream* self) {
  new (self) std::stringstream(std::ios_base::in | std::ios_base::out);
}

// condition_variable::wait(unique_lock<mutex>&), under the name the library references.
void lrn_condition_variable_wait(void* self, void* lock) __asm__(
    "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE");
void lrn_condition_variable_wait(void* self, void* lock) { lrn_condition_variable_wait_base(self, lock); }

extern "C" {

// As <pthread.h> declares them (libstdc++'s headers include it); pthread_once_t is an int in every glibc.
int pthread_once(int* once, void (*init)()) { return lrn_pthread_once_base(once, init); }
int pthread_mutex_trylock(pthread_mutex_t* mutex) noexcept { return lrn_pthread_mutex_trylock_base(mutex); }
int pthread_setname_np(pthread_t thread, const char* name) noexcept {
  return lrn_pthread_setname_np_base(thread, name);
}

// Zero says "other threads may exist", so reference counts always use atomic operations: what a glibc older than
// 2.32, which has no such flag, gets too.
char __libc_single_threaded = 0;

}  // extern "C"
