/* The fuzz build's stb_image: Debian's own header (the one libstb.a is
 * built from), compiled here with the sanitizers and coverage so libFuzzer
 * can steer through the decoders behind our container checks; the linker
 * then takes these definitions and leaves libstb.a's stb_image.o out. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
