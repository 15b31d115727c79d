using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using VmPs.Protocol.Files;

namespace VmPs.Core.State;

/// <summary>
/// The one SQLite file that holds VmPs state. Every session (process) opens its own connections,
/// pooled within the process; WAL lets readers proceed while one writer holds the lock, and the
/// busy timeout makes a writer wait for another session's transaction instead of failing.
/// </summary>
internal sealed class StateDatabase
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan BestEffortBusyTimeout = TimeSpan.FromMilliseconds(200);

    // The file each path named when its pooled connections were opened. A pooled connection keeps
    // its file open, so once the path names another file (the state directory was deleted or
    // replaced) those connections must be dropped rather than keep writing to the old one.
    private static readonly ConcurrentDictionary<string, FileIdentity?> PooledFiles = new(StringComparer.Ordinal);

    private readonly string connectionString;
    private readonly SemaphoreSlim migrationGate = new(1, 1);
    private volatile bool migrated;

    static StateDatabase()
    {
        SQLitePCL.Batteries_V2.Init();
    }

    public StateDatabase(string path)
    {
        Path = path;
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
    }

    public string Path { get; }

    /// <summary>Opens a connection to an up-to-date schema.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenRawAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!migrated)
            {
                await MigrateOnceAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> inside BEGIN IMMEDIATE: the write lock is taken up front, so
    /// a read-then-insert (an allocation) cannot interleave with another session's.
    /// </summary>
    public async Task<T> InWriteTransactionAsync<T>(
        Func<SqliteConnection, SqliteTransaction, Task<T>> work,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await InWriteTransactionAsync(connection, work, cancellationToken).ConfigureAwait(false);
    }

    public async Task InWriteTransactionAsync(
        Func<SqliteConnection, SqliteTransaction, Task> work,
        CancellationToken cancellationToken)
    {
        await InWriteTransactionAsync<bool>(
            async (connection, transaction) =>
            {
                await work(connection, transaction).ConfigureAwait(false);
                return true;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="work"/> inside BEGIN IMMEDIATE for bookkeeping a read may skip: waits at most about a
    /// second for the write lock, and returns false instead of failing when the database is busy, locked, read-only
    /// or cannot be opened for writing.
    /// </summary>
    public async Task<bool> TryInWriteTransactionAsync(
        Func<SqliteConnection, SqliteTransaction, Task> work,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);

            // Microsoft.Data.Sqlite retries a busy statement until the command timeout (whole seconds; 0 is none),
            // each step also waiting out SQLite's own busy timeout.
            connection.DefaultTimeout = 1;
            await connection.ExecuteAsync($"PRAGMA busy_timeout = {(int)BestEffortBusyTimeout.TotalMilliseconds};", cancellationToken).ConfigureAwait(false);
            await InWriteTransactionAsync<bool>(
                connection,
                async (c, t) =>
                {
                    await work(c, t).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_PERM)
        {
            return false;
        }
        catch (VmPsException ex) when (ex.ErrorId == VmPsErrorIds.StateDatabaseUnavailable)
        {
            return false;
        }
    }

    private static async Task<T> InWriteTransactionAsync<T>(
        SqliteConnection connection,
        Func<SqliteConnection, SqliteTransaction, Task<T>> work,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();

        // deferred: false makes Microsoft.Data.Sqlite issue BEGIN IMMEDIATE (it has no async overload).
        await using var transaction = connection.BeginTransaction(deferred: false);
        var result = await work(connection, transaction).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        PrepareFiles();

        var connection = new SqliteConnection(connectionString);
        if (DropPoolIfFileChanged(connection))
        {
            migrated = false;
        }

        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(
                $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (SqliteException ex)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new VmPsException(
                VmPsErrorIds.StateDatabaseUnavailable,
                VmPsErrorKind.ResourceUnavailable,
                $"Cannot open the VmPs state database '{Path}': {ex.Message}",
                Path,
                ex);
        }
    }

    /// <summary>The state directory made private (or repaired) and the database file created 0600 before SQLite opens it.</summary>
    private void PrepareFiles()
    {
        try
        {
            PrivateFiles.PrepareRoot(new VmPsPaths(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!));

            // SQLite gives the -wal and -shm files the database's mode, so a 0600 database makes them 0600 too.
            PrivateFiles.OpenHandle(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite).Dispose();
        }
        catch (Exception ex) when (ex is FileOperationException or IOException or UnauthorizedAccessException)
        {
            throw new VmPsException(
                VmPsErrorIds.StateDatabaseUnavailable,
                VmPsErrorKind.ResourceUnavailable,
                $"Cannot open the VmPs state database '{Path}': {ex.Message}",
                Path,
                ex);
        }
    }

    /// <summary>Drops the path's pooled connections when it names another file than they opened (or none); true then.</summary>
    private bool DropPoolIfFileChanged(SqliteConnection connection)
    {
        var current = FileIdentity.Of(Path);
        var changed = current is null || (PooledFiles.TryGetValue(Path, out var pooled) && pooled != current);
        if (changed)
        {
            SqliteConnection.ClearPool(connection);
        }

        PooledFiles[Path] = current;
        return changed;
    }

    private async Task MigrateOnceAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await migrationGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (migrated)
            {
                return;
            }

            // journal_mode is a property of the file, and cannot change inside a transaction.
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
            await InWriteTransactionAsync(
                connection,
                async (c, t) =>
                {
                    await SchemaMigrations.ApplyAsync(c, t, cancellationToken).ConfigureAwait(false);
                    return true;
                },
                cancellationToken).ConfigureAwait(false);
            migrated = true;
        }
        finally
        {
            migrationGate.Release();
        }
    }
}
