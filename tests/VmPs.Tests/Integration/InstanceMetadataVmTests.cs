using System.Text;
using VmPs.Core.Agent;
using VmPs.Tests.Core.Agent;

namespace VmPs.Tests.Integration;

/// <summary>IMDS at 169.254.169.254 from inside the shared booted VM: busybox wget for v1, nc for the v2 PUT and GET.</summary>
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
        await using var client = await vm.Manager.ConnectAgentAsync(BootedBusyboxVm.Name, default);
        var execution = await client.StartExecAsync(new AgentExecRequest(["sh", "-c", script]), default);
        var output = Encoding.UTF8.GetString(await ExecTestSupport.ReadStdoutAsync(execution)).Split('\n');

        Assert.Equal("i-" + vm.Vm.Id.ToString("N")[..17], output[0]);
        Assert.Equal(BootedBusyboxVm.Name, output[1]);
    }
}
