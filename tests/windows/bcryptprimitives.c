/* A stand-in for Windows' bcryptprimitives.dll, which Rust's standard
 * library imports for ProcessPrng since Rust 1.78 but which Wine 8 (Debian
 * 12) lacks. Only the Windows build test under Wine loads it; on Windows the
 * real DLL is used. RtlGenRandom (SystemFunction036) is Wine's own. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return RtlGenRandom(data, (ULONG)len);
}
