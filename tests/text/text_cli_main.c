/* text_cli_main.c — runs `cicada text` (cmd_text.c) as its own program for the CLI test. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cmd_text(argc - 1, argv + 1);
}
