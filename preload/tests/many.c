/* One tiny shared object; the Makefile links it under many names. */
__attribute__((visibility("default"))) int vigil_many(void)
{
    return 1;
}
