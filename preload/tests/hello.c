/* A program for the watermark tests, linked with tests/hellolib.c. */
#include <stdio.h>

int hello_lib(void);

int main(void)
{
    return hello_lib() == 42 ? 0 : 1;
}
