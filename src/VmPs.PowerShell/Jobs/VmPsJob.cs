using System.Management.Automation;

namespace VmPs.PowerShell.Jobs;

/// <summary>
/// What -AsJob returns: one child job per target (VM, image source), each running on its own. The job ends once every
/// child has ended and no more targets can come (<see cref="Seal"/>): Failed when a child failed, Stopped when stopped,
/// else Completed. Get-Job, Receive-Job, Wait-Job, Stop-Job and Remove-Job work on it as on any PowerShell job.
/// </summary>
internal sealed class VmPsJob : Job
{
    private readonly object gate = new();
    private bool sealedForChildren;

    /// <param name="command">The command line the job runs, as Get-Job shows it.</param>
    /// <param name="jobTypeName">Get-Job's PSJobTypeName: which cmdlet's job this is.</param>
    public VmPsJob(string command, string jobTypeName)
        : base(command)
    {
        PSJobTypeName = jobTypeName;
    }

    public override string Location => string.Join(", ", Children().Select(child => child.Location));

    public override bool HasMoreData => Children().Any(child => child.HasMoreData);

    public override string StatusMessage => "";

    public void Add(VmPsChildJob child)
    {
        lock (gate)
        {
            ChildJobs.Add(child);
            if (JobStateInfo.State == JobState.NotStarted)
            {
                SetJobState(JobState.Running);
            }
        }

        child.StateChanged += (_, _) => FinishWhenDone();
    }

    /// <summary>No more children will be added: the job may now finish.</summary>
    public void Seal()
    {
        lock (gate)
        {
            sealedForChildren = true;
        }

        FinishWhenDone();
    }

    public override void StopJob()
    {
        SetJobState(JobState.Stopping);
        foreach (var child in Children())
        {
            child.StopJob();
        }

        Seal();
    }

    private IReadOnlyList<VmPsChildJob> Children()
    {
        lock (gate)
        {
            return ChildJobs.Cast<VmPsChildJob>().ToList();
        }
    }

    private void FinishWhenDone()
    {
        lock (gate)
        {
            var states = ChildJobs.Select(child => child.JobStateInfo.State).ToList();
            if (sealedForChildren && states.All(VmPsChildJob.IsFinished) && !VmPsChildJob.IsFinished(JobStateInfo.State))
            {
                SetJobState(
                    states.Contains(JobState.Stopped) ? JobState.Stopped
                    : states.Contains(JobState.Failed) ? JobState.Failed
                    : JobState.Completed);
            }
        }
    }
}
