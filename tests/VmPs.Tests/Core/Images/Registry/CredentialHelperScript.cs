using VmPs.Tests.Infrastructure;

namespace VmPs.Tests.Core.Images.Registry;

/// <summary>
/// A docker credential helper (docker-credential-NAME) on PATH for the duration of a test: "get" reads the server
/// from stdin, logs it, and prints the fixture's credentials for <c>server</c> or "credentials not found".
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CredentialHelperScript : IDisposable
{
    private static readonly Lock PathLock = new();
    private readonly ScratchDirectory directory = new();
    private readonly string originalPath;

    public CredentialHelperScript(string server)
    {
        Name = "vmpstest" + Guid.NewGuid().ToString("N")[..8];
        var script = directory.Combine("docker-credential-" + Name);
        File.WriteAllText(script, $$"""
            #!/bin/sh
            [ "$1" = get ] || exit 2
            read -r server
            echo "$server" >> '{{LogPath}}'
            if [ "$server" = '{{server}}' ]; then
              printf '{"ServerURL":"%s","Username":"{{RegistryFixture.Username}}","Secret":"{{RegistryFixture.Password}}"}\n' "$server"
            else
              echo "credentials not found in native keychain"
              exit 1
            fi

            """);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        lock (PathLock)
        {
            originalPath = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
            Environment.SetEnvironmentVariable("PATH", directory.Path + ":" + originalPath);
        }
    }

    public string Name { get; }

    private string LogPath => directory.Combine("asked.log");

    public IReadOnlyList<string> ServersAsked() => File.Exists(LogPath) ? File.ReadAllLines(LogPath) : [];

    public void Dispose()
    {
        lock (PathLock)
        {
            var entries = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Where(entry => entry != directory.Path);
            Environment.SetEnvironmentVariable("PATH", string.Join(':', entries));
        }

        directory.Dispose();
    }
}
