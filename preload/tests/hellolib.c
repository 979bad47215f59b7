/* A shared library for the watermark tests. */
__attribute__((visibility("default"))) int hello_lib(void)
{
    return 42;
}
