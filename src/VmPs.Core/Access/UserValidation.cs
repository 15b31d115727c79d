using System.Text.RegularExpressions;
using VmPs.Core.Vms;

namespace VmPs.Core.Access;

/// <summary>User names, e-mail addresses and quota values, checked before anything is stored.</summary>
internal static partial class UserValidation
{
    public const int MaxEmailLength = 254;

    /// <summary>The rule for VM names: user names appear in SSH logins and HTTP headers, so they stay as plain.</summary>
    public static void ValidateName(string? name)
    {
        if (!VmValidation.IsValidName(name))
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidUserName,
                VmPsErrorKind.InvalidArgument,
                $"'{name}' is not a valid user name: use 1 to {VmValidation.MaxNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit.",
                name);
        }
    }

    /// <summary>A plain address (it goes into the X-VmPs-Email header of proxied requests): no spaces, quotes or control characters.</summary>
    public static void ValidateEmail(string? email)
    {
        if (string.IsNullOrEmpty(email) || email.Length > MaxEmailLength || !EmailPattern().IsMatch(email))
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidEmail,
                VmPsErrorKind.InvalidArgument,
                $"'{email}' is not a valid e-mail address: use name@domain.example, with letters, digits and . _ % + - before the '@'.",
                email);
        }
    }

    public static void ValidateQuota(VmQuotaLimit limit, int? value)
    {
        if (value is < 0)
        {
            throw new VmPsException(
                VmPsErrorIds.InvalidQuota,
                VmPsErrorKind.InvalidArgument,
                $"{limit} cannot be negative ({value}); use $null for no limit.",
                value);
        }
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\z")]
    private static partial Regex EmailPattern();
}
