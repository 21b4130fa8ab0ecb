#include <cstdio>
int main() { std::puts("titans"); return 0; }
