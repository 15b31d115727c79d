using System.Text;
using VmPs.Core.Agent;
using VmPs.Core.Vms;
using VmPs.Tests.Core.Agent;

namespace VmPs.Tests.Integration;

/// <summary>
/// IMDS at 169.254.169.254 from inside the shared booted VM (busybox wget for v1, nc for raw v2 and error requests),
/// and port 80 left to the VM's own programs: the service listens in a network namespace of its own.
/// </summary>
[Collection(VmBootCollection.Name)]
public sealed class InstanceMetadataVmTests(BootedBusyboxVm vm)
{
    [RequiresVmBootFact]
    public async Task V1_and_v2_answer_the_VMs_own_instance_id_and_hostname()
    {
        const string script = """
            wget -qO- http://169.254.169.254/latest/meta-data/instance-id; echo
            t=$(printf 'PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n' | nc 169.254.169.254 80 | tail -n 1)
            printf "GET /latest/meta-data/hostname HTTP/1.1\r\nX-aws-ec2-metadata-token: $t\r\nConnection: close\r\n\r\n" | nc 169.254.169.254 80 | tail -n 1
            """;

        var output = await RunAsync(script);

        Assert.Equal("i-" + vm.Vm.Id.ToString("N")[..17], output[0]);
        Assert.Equal(BootedBusyboxVm.Name, output[1]);
    }

    [RequiresVmBootFact]
    public async Task A_forged_token_a_wrong_method_and_an_unknown_path_get_EC2s_status_codes()
    {
        const string script = """
            ask() { printf "$1" | nc 169.254.169.254 80 | head -n 1 | tr -d '\r'; }
            ask 'GET /latest/meta-data/instance-id HTTP/1.1\r\nX-aws-ec2-metadata-token: forged\r\nConnection: close\r\n\r\n'
            ask 'DELETE /latest/meta-data/instance-id HTTP/1.1\r\nConnection: close\r\n\r\n'
            ask 'GET /latest/meta-data/no-such-key HTTP/1.1\r\nConnection: close\r\n\r\n'
            """;

        var output = await RunAsync(script);

        Assert.StartsWith("HTTP/1.1 401 ", output[0], StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 405 ", output[1], StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 404 ", output[2], StringComparison.Ordinal);
    }

    /// <summary>
    /// The regression that took the first version out: it listened on 169.254.169.254:80 in the VM's namespace,
    /// so a wildcard bind of port 80 (busybox httpd's) failed with EADDRINUSE.
    /// </summary>
    [RequiresVmBootFact]
    public async Task A_program_in_the_VM_binds_every_address_on_port_80_while_IMDS_answers()
    {
        const string script = """
            d=/tmp/imds-port-80; mkdir -p $d; echo served-by-httpd > $d/index.html
            httpd -f -p 80 -h $d & pid=$!
            i=0; until page=$(wget -qO- http://127.0.0.1/index.html 2>/dev/null); do i=$((i+1)); [ $i -ge 100 ] && break; sleep 0.1; done
            echo "$page"
            wget -qO- http://169.254.169.254/latest/meta-data/local-hostname; echo
            kill -0 $pid && echo httpd-running
            kill $pid
            """;

        var output = await RunAsync(script);

        Assert.Equal("served-by-httpd", output[0]);
        Assert.Equal(BootedBusyboxVm.Name, output[1]);
        Assert.Equal("httpd-running", output[2]);
    }

    [RequiresVmBootFact]
    public async Task User_data_and_public_keys_are_served_as_New_Vm_was_given_them()
    {
        const string script = """
            wget -qO- http://169.254.169.254/latest/user-data
            wget -qO- http://169.254.169.254/latest/meta-data/public-keys/; echo
            wget -qO- http://169.254.169.254/latest/meta-data/public-keys/0/openssh-key; echo
            """;

        var output = await RunAsync(script);

        Assert.Equal(BootedBusyboxVm.UserData.Split('\n')[..2], output[..2]);
        Assert.Equal("0=key0", output[2]);
        Assert.Equal(SampleSshKeys.Ed25519, output[3]);
    }

    /// <summary>Set-Vm -MetadataOptions on the running VM: its metadata service takes the change at once, through the agent.</summary>
    [RequiresVmBootFact]
    public async Task Set_Vm_HttpTokens_required_refuses_IMDSv1_at_once_and_optional_gives_it_back()
    {
        const string script = """
            ask() { printf "$1" | nc 169.254.169.254 80 | head -n 1 | tr -d '\r'; }
            ask 'GET /latest/meta-data/instance-id HTTP/1.1\r\nConnection: close\r\n\r\n'
            t=$(printf 'PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n' | nc 169.254.169.254 80 | tail -n 1)
            ask "GET /latest/meta-data/instance-id HTTP/1.1\r\nX-aws-ec2-metadata-token: $t\r\nConnection: close\r\n\r\n"
            """;
        try
        {
            var required = await vm.Manager.SetAsync(BootedBusyboxVm.Name, new VmSetOptions { MetadataHttpTokens = MetadataHttpTokens.Required }, dryRun: false, default);
            Assert.Equal(MetadataHttpTokens.Required, required.MetadataHttpTokens);

            var output = await RunAsync(script);

            Assert.StartsWith("HTTP/1.1 401 ", output[0], StringComparison.Ordinal);
            Assert.StartsWith("HTTP/1.1 200 ", output[1], StringComparison.Ordinal);
        }
        finally
        {
            await vm.Manager.SetAsync(BootedBusyboxVm.Name, new VmSetOptions { MetadataHttpTokens = MetadataHttpTokens.Optional }, dryRun: false, default);
        }

        Assert.Equal(MetadataHttpTokens.Optional, (await vm.Manager.GetAsync(BootedBusyboxVm.Name, default)).MetadataHttpTokens);
        Assert.StartsWith("HTTP/1.1 200 ", (await RunAsync(script))[0], StringComparison.Ordinal);
    }

    private async Task<string[]> RunAsync(string script)
    {
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["sh", "-c", script]), default);
        return Encoding.UTF8.GetString(await ExecTestSupport.ReadStdoutAsync(execution)).Split('\n');
    }
}
