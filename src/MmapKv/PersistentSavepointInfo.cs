namespace MmapKv;

/// <summary>One persistent savepoint, from <see cref="KvDatabase.GetPersistentSavepoints"/> or <see cref="KvStats.Savepoints"/>.</summary>
/// <param name="Id">Its id: the txn id of the commit that made it (<see cref="KvDatabase.CreatePersistentSavepoint"/>).</param>
/// <param name="Created">When it was made (UTC).</param>
/// <param name="Entries">Entries of the default tree in its state.</param>
/// <param name="ExclusivePages">Pages that only this savepoint keeps: what deleting it would free now. Pages that
/// two savepoints share are counted in neither, nor is the savepoint table; <see cref="KvStats.SavepointPages"/> counts every kept page once.</param>
public sealed record PersistentSavepointInfo(long Id, DateTimeOffset Created, long Entries, long ExclusivePages);
