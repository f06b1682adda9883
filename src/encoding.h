/* encoding.h - keys as text: base64 (wg's format, 44 characters) and hex (the UAPI's). */
#ifndef FERRY_ENCODING_H
#define FERRY_ENCODING_H

#include <stdbool.h>
#include <stdint.h>

#define KEY_LEN	    32
#define KEY_B64_LEN 45 /* 44 characters and the terminating NUL */
#define KEY_HEX_LEN 65

void key_to_base64(char out[KEY_B64_LEN], const uint8_t key[KEY_LEN]);
/* Strict: exactly 44 characters of standard base64 ending in '='. */
bool key_from_base64(uint8_t key[KEY_LEN], const char *text);
void key_to_hex(char out[KEY_HEX_LEN], const uint8_t key[KEY_LEN]);
/* Strict: exactly 64 hex digits (either case). */
bool key_from_hex(uint8_t key[KEY_LEN], const char *text);

#endif
