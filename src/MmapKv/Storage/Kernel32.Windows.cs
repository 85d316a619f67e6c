using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace MmapKv.Storage;

/// <summary>
/// The Win32 calls the Windows storage uses (<see cref="WindowsMappedFile"/>, <see cref="WindowsAddressRange"/>).
/// Handles are raw <c>nint</c>s: each is owned by exactly one object, which closes it once.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class Kernel32
{
    private const string Lib = "kernel32.dll";
    // VirtualAlloc2 and MapViewOfFile3 (Windows 10 1803+) are exported by kernelbase, not kernel32.
    private const string Base = "kernelbase.dll";

    public static readonly nint InvalidHandle = -1;

    [LibraryImport(Lib, EntryPoint = "CreateFileW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    public static partial nint CreateFile(string path, uint access, uint share, nint security, uint disposition, uint flags, nint template);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool CloseHandle(nint handle);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial uint GetFileType(nint file);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool GetFileSizeEx(nint file, out long size);

    /// <summary>With <see cref="FileEndOfFileInfo"/> or <see cref="FileAllocationInfo"/>: one 64-bit size.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool SetFileInformationByHandle(nint file, int infoClass, long* info, uint size);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool FlushFileBuffers(nint file);

    /// <summary>A synchronous write at the offset given in <paramref name="overlapped"/>.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool WriteFile(nint file, byte* buffer, uint bytes, out uint written, LockOverlapped* overlapped);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool LockFileEx(nint file, uint flags, uint reserved, uint lengthLow, uint lengthHigh, LockOverlapped* overlapped);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool UnlockFileEx(nint file, uint reserved, uint lengthLow, uint lengthHigh, LockOverlapped* overlapped);

    [LibraryImport(Lib, EntryPoint = "GetDiskFreeSpaceExW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool GetDiskFreeSpaceEx(string directory, out ulong freeToCaller, out ulong total, out ulong totalFree);

    [LibraryImport(Lib, EntryPoint = "MoveFileExW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool MoveFileEx(string from, string to, uint flags);

    [LibraryImport(Lib, EntryPoint = "CreateFileMappingW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    public static partial nint CreateFileMapping(nint file, nint security, uint protect, uint sizeHigh, uint sizeLow, string? name);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial void* MapViewOfFileEx(nint mapping, uint access, uint offsetHigh, uint offsetLow, nuint bytes, void* address);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool UnmapViewOfFile(void* address);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool FlushViewOfFile(void* address, nuint bytes);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial void* VirtualAlloc(void* address, nuint size, uint type, uint protect);

    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool VirtualFree(void* address, nuint size, uint type);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nuint VirtualQuery(void* address, MemoryBasicInformation* info, nuint length);

    [LibraryImport(Lib)]
    public static partial void GetSystemInfo(SystemInfo* info);

    [LibraryImport(Lib)]
    public static partial nint GetCurrentProcess();

    /// <summary>BY_HANDLE_FILE_INFORMATION is read as bytes: <see cref="FileInfoSize"/>, attributes at 0, link count at 40.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool GetFileInformationByHandle(nint file, byte* info);

    [LibraryImport(Base, SetLastError = true)]
    public static partial void* VirtualAlloc2(nint process, void* address, nuint size, uint type, uint protect, void* parameters, uint count);

    [LibraryImport(Base, SetLastError = true)]
    public static partial void* MapViewOfFile3(nint mapping, nint process, void* address, ulong offset, nuint size, uint type, uint protect, void* parameters, uint count);

    public static string Describe(int error) => $"{Marshal.GetPInvokeErrorMessage(error)} (Win32 error {error})";

    /// <summary>OVERLAPPED: for LockFileEx and a synchronous WriteFile only the offset fields matter.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LockOverlapped
    {
        public nuint Internal;
        public nuint InternalHigh;
        public uint Offset;
        public uint OffsetHigh;
        public nint Event;
    }

    /// <summary>MEMORY_BASIC_INFORMATION (64-bit layout; a 32-bit process could not reserve a useful MaxSize anyway).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MemoryBasicInformation
    {
        public nint BaseAddress;
        public nint AllocationBase;
        public uint AllocationProtect;
        public ushort PartitionId;
        public nuint RegionSize;
        public uint State;
        public uint Protect;
        public uint Type;
    }

    /// <summary>SYSTEM_INFO: only the allocation granularity is read.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SystemInfo
    {
        public ushort ProcessorArchitecture;
        public ushort Reserved;
        public uint PageSize;
        public nint MinimumApplicationAddress;
        public nint MaximumApplicationAddress;
        public nuint ActiveProcessorMask;
        public uint NumberOfProcessors;
        public uint ProcessorType;
        public uint AllocationGranularity;
        public ushort ProcessorLevel;
        public ushort ProcessorRevision;
    }

    public const uint GENERIC_READ = 0x80000000;
    public const uint GENERIC_WRITE = 0x40000000;
    public const uint FILE_SHARE_READ = 1;
    public const uint FILE_SHARE_WRITE = 2;
    public const uint FILE_SHARE_DELETE = 4;
    public const uint CREATE_NEW = 1;
    public const uint OPEN_EXISTING = 3;
    public const uint FILE_ATTRIBUTE_NORMAL = 0x80;
    public const uint FILE_FLAG_RANDOM_ACCESS = 0x10000000;
    public const uint FILE_TYPE_DISK = 1;
    public const uint OPEN_ALWAYS = 4;
    /// <summary>Opens a symbolic link or junction itself instead of what it points to.</summary>
    public const uint FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000;
    public const uint FILE_ATTRIBUTE_DIRECTORY = 0x10;
    public const uint FILE_ATTRIBUTE_REPARSE_POINT = 0x400;
    public const int FileInfoSize = 52;
    public const int FileInfoLinksOffset = 40;
    public const int FileEndOfFileInfo = 6;
    public const int FileAllocationInfo = 5;
    public const uint LOCKFILE_FAIL_IMMEDIATELY = 1;
    public const uint LOCKFILE_EXCLUSIVE_LOCK = 2;
    public const uint MOVEFILE_WRITE_THROUGH = 8;
    public const uint PAGE_NOACCESS = 1;
    public const uint PAGE_READONLY = 2;
    public const uint PAGE_READWRITE = 4;
    public const uint FILE_MAP_WRITE = 2;
    public const uint FILE_MAP_READ = 4;
    public const uint MEM_COMMIT = 0x1000;
    public const uint MEM_RESERVE = 0x2000;
    public const uint MEM_DECOMMIT = 0x4000;
    public const uint MEM_RELEASE = 0x8000;
    public const uint MEM_FREE = 0x10000;
    public const uint MEM_COALESCE_PLACEHOLDERS = 0x1;
    public const uint MEM_PRESERVE_PLACEHOLDER = 0x2;
    public const uint MEM_RESERVE_PLACEHOLDER = 0x40000;
    public const uint MEM_REPLACE_PLACEHOLDER = 0x4000;

    public const int ERROR_FILE_NOT_FOUND = 2;
    public const int ERROR_PATH_NOT_FOUND = 3;
    public const int ERROR_ACCESS_DENIED = 5;
    public const int ERROR_NOT_ENOUGH_MEMORY = 8;
    public const int ERROR_INVALID_FUNCTION = 1;
    public const int ERROR_WRITE_PROTECT = 19;
    public const int ERROR_SHARING_VIOLATION = 32;
    public const int ERROR_LOCK_VIOLATION = 33;
    public const int ERROR_HANDLE_DISK_FULL = 39;
    public const int ERROR_FILE_EXISTS = 80;
    public const int ERROR_INVALID_PARAMETER = 87;
    public const int ERROR_CALL_NOT_IMPLEMENTED = 120;
    public const int ERROR_DISK_FULL = 112;
    public const int ERROR_INVALID_NAME = 123;
    public const int ERROR_ALREADY_EXISTS = 183;
    public const int ERROR_FILENAME_EXCED_RANGE = 206;
    public const int ERROR_INVALID_ADDRESS = 487;
    public const int ERROR_USER_MAPPED_FILE = 1224;
    public const int ERROR_DISK_QUOTA_EXCEEDED = 1295;
    public const int ERROR_COMMITMENT_LIMIT = 1455;
}
