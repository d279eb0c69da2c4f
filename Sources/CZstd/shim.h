/* With zstd.h's experimental section: the buffer-less block API (ZSTD_decompressContinue) and
   ZSTD_d_forceIgnoreChecksum, which the shard reader uses; libzstd.so exports them. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>
