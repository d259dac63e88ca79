// A test shared library that exports no teller_skill_entry; the host must refuse it.
extern "C" __attribute__((visibility("default"))) int not_a_skill() {
    return 42;
}
