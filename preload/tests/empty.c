/* The floor of the bench: a preload library that does nothing at all. */
static void empty_init(void)
{
}

__attribute__((section(".init_array"), used)) static void (*const init_entry)(
    void) = empty_init;
