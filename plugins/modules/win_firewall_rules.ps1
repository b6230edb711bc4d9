#!powershell

# Copyright: contributors to voiceops.firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic

# Thin on purpose: it reads (operation=query) or changes (operation=apply) the Windows Firewall
# rules of one group in a single run. What to change is decided on the controller by
# voiceops.firewall.windows_firewall; this module neither renders nor compares rules.

$ruleOptions = @{
    name = @{ type = 'str'; required = $true }
    display_name = @{ type = 'str'; required = $true }
    description = @{ type = 'str'; default = '' }
    direction = @{ type = 'str'; required = $true; choices = 'Inbound', 'Outbound' }
    action = @{ type = 'str'; required = $true; choices = @('Allow') }
    enabled = @{ type = 'bool'; default = $true }
    profiles = @{ type = 'list'; elements = 'str'; required = $true }
    protocol = @{ type = 'str'; required = $true }
    local_ports = @{ type = 'list'; elements = 'str'; default = @('Any') }
    remote_ports = @{ type = 'list'; elements = 'str'; default = @('Any') }
    local_addresses = @{ type = 'list'; elements = 'str'; default = @('Any') }
    remote_addresses = @{ type = 'list'; elements = 'str'; default = @('Any') }
    program = @{ type = 'str'; default = 'Any' }
}

$spec = @{
    options = @{
        operation = @{ type = 'str'; required = $true; choices = 'query', 'apply' }
        group = @{ type = 'str'; required = $true }
        foreign = @{ type = 'bool'; default = $false }
        add = @{ type = 'list'; elements = 'dict'; default = @(); options = $ruleOptions }
        update = @{ type = 'list'; elements = 'dict'; default = @(); options = $ruleOptions }
        remove = @{ type = 'list'; elements = 'str'; default = @() }
        profiles = @{
            type = 'list'
            elements = 'dict'
            default = @()
            options = @{
                name = @{ type = 'str'; required = $true; choices = 'Domain', 'Private', 'Public' }
                enabled = @{ type = 'bool'; required = $true }
                default_inbound_action = @{ type = 'str'; required = $true; choices = 'Allow', 'Block' }
                default_outbound_action = @{ type = 'str'; required = $true; choices = 'Allow', 'Block' }
            }
        }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$group = $module.Params.group
$module.Result.changed = $false

Function ConvertTo-RuleReport {
    # One rule with its filters, enums as names, lists as lists.
    param($Rule, $PortFilters, $AddressFilters, $ApplicationFilters)
    $port = $PortFilters[$Rule.InstanceID]
    $address = $AddressFilters[$Rule.InstanceID]
    $application = $ApplicationFilters[$Rule.InstanceID]
    [ordered]@{
        Name = $Rule.Name
        DisplayName = $Rule.DisplayName
        Description = $Rule.Description
        Group = $Rule.Group
        Enabled = [string]$Rule.Enabled
        Direction = [string]$Rule.Direction
        Action = [string]$Rule.Action
        Profile = [string]$Rule.Profile
        Protocol = if ($port) { [string]$port.Protocol } else { 'Any' }
        LocalPort = if ($port) { @($port.LocalPort | ForEach-Object { [string]$_ }) } else { @('Any') }
        RemotePort = if ($port) { @($port.RemotePort | ForEach-Object { [string]$_ }) } else { @('Any') }
        LocalAddress = if ($address) { @($address.LocalAddress | ForEach-Object { [string]$_ }) } else { @('Any') }
        RemoteAddress = if ($address) { @($address.RemoteAddress | ForEach-Object { [string]$_ }) } else { @('Any') }
        Program = if ($application) { [string]$application.Program } else { 'Any' }
    }
}

Function Get-RuleReport {
    # Rules and their filters from one policy store, filters read once and joined by InstanceID
    # (one query per filter type, not one per rule).
    param([string]$PolicyStore, [scriptblock]$Where)
    $rules = @(Get-NetFirewallRule -PolicyStore $PolicyStore -ErrorAction Stop | Where-Object $Where)
    $ports = @{}
    $addresses = @{}
    $applications = @{}
    if ($rules.Count -gt 0) {
        Get-NetFirewallPortFilter -All -PolicyStore $PolicyStore -ErrorAction Stop | ForEach-Object { $ports[$_.InstanceID] = $_ }
        Get-NetFirewallAddressFilter -All -PolicyStore $PolicyStore -ErrorAction Stop | ForEach-Object { $addresses[$_.InstanceID] = $_ }
        Get-NetFirewallApplicationFilter -All -PolicyStore $PolicyStore -ErrorAction Stop | ForEach-Object { $applications[$_.InstanceID] = $_ }
    }
    , @($rules | Sort-Object -Property Name | ForEach-Object {
            ConvertTo-RuleReport -Rule $_ -PortFilters $ports -AddressFilters $addresses -ApplicationFilters $applications
        })
}

Function Get-RuleSplat {
    # Parameters of New-NetFirewallRule (-New) or Set-NetFirewallRule for one rule argument.
    param($Rule, [switch]$New)
    $splat = @{
        Name = $Rule.name
        Description = $Rule.description
        Direction = $Rule.direction
        Action = $Rule.action
        Enabled = if ($Rule.enabled) { 'True' } else { 'False' }
        Profile = ($Rule.profiles -join ', ')
        Protocol = $Rule.protocol
        LocalAddress = [string[]]$Rule.local_addresses
        RemoteAddress = [string[]]$Rule.remote_addresses
    }
    if ($New) {
        $splat.DisplayName = $Rule.display_name
        $splat.Group = $group
    }
    else {
        $splat.NewDisplayName = $Rule.display_name
    }
    if ($Rule.protocol -in @('TCP', 'UDP')) {
        $splat.LocalPort = [string[]]$Rule.local_ports
        $splat.RemotePort = [string[]]$Rule.remote_ports
    }
    if ($Rule.program -ne 'Any' -or -not $New) {
        $splat.Program = $Rule.program
    }
    $splat
}

Function Assert-OwnRule {
    # Never touch a rule outside the group, whatever the controller asked for.
    param([string]$Name)
    $existing = Get-NetFirewallRule -Name $Name -PolicyStore PersistentStore -ErrorAction Stop
    if ($existing.Group -ne $group) {
        throw "rule '$Name' is in group '$($existing.Group)', not '$group'; refusing to change it"
    }
}

if ($module.Params.operation -eq 'query') {
    $module.Result.rules = Get-RuleReport -PolicyStore PersistentStore -Where { $_.Group -eq $group }
    $module.Result.profiles = @(Get-NetFirewallProfile -PolicyStore PersistentStore -ErrorAction Stop | Sort-Object -Property Name | ForEach-Object {
            [ordered]@{
                Name = [string]$_.Name
                Enabled = [string]$_.Enabled
                DefaultInboundAction = [string]$_.DefaultInboundAction
                DefaultOutboundAction = [string]$_.DefaultOutboundAction
            }
        })
    if ($module.Params.foreign) {
        # The effective set (local and Group Policy rules): enabled allow rules of other groups.
        $module.Result.foreign_rules = Get-RuleReport -PolicyStore ActiveStore -Where {
            $_.Group -ne $group -and [string]$_.Enabled -eq 'True' -and [string]$_.Action -eq 'Allow'
        }
    }
    $module.ExitJson()
}

# operation=apply: adds and updates first, then removals, then profiles, so that the management
# rule is in place before anything is taken away or the default action tightens.
$done = [System.Collections.Generic.List[string]]@()
$module.Result.done = $done
$total = $module.Params.add.Count + $module.Params.update.Count + $module.Params.remove.Count + $module.Params.profiles.Count
if ($total -eq 0) {
    $module.ExitJson()
}
$module.Result.changed = $true
if ($module.CheckMode) {
    $module.ExitJson()
}

$step = ''
try {
    foreach ($rule in $module.Params.add) {
        $step = "add $($rule.name)"
        $splat = Get-RuleSplat -Rule $rule -New
        $null = New-NetFirewallRule @splat -PolicyStore PersistentStore -ErrorAction Stop
        $done.Add($step)
    }
    foreach ($rule in $module.Params.update) {
        $step = "update $($rule.name)"
        Assert-OwnRule -Name $rule.name
        $splat = Get-RuleSplat -Rule $rule
        Set-NetFirewallRule @splat -PolicyStore PersistentStore -ErrorAction Stop
        $done.Add($step)
    }
    foreach ($name in $module.Params.remove) {
        $step = "remove $name"
        Assert-OwnRule -Name $name
        Remove-NetFirewallRule -Name $name -PolicyStore PersistentStore -ErrorAction Stop
        $done.Add($step)
    }
    foreach ($profileArg in $module.Params.profiles) {
        $step = "profile $($profileArg.name)"
        $profileSplat = @{
            Name = $profileArg.name
            Enabled = if ($profileArg.enabled) { 'True' } else { 'False' }
            DefaultInboundAction = $profileArg.default_inbound_action
            DefaultOutboundAction = $profileArg.default_outbound_action
        }
        Set-NetFirewallProfile @profileSplat -PolicyStore PersistentStore -ErrorAction Stop
        $done.Add($step)
    }
}
catch {
    $module.Result.failed_step = $step
    $module.FailJson("win_firewall_rules: $step failed after $($done.Count) of $total change(s) succeeded: $($_.Exception.Message)", $_)
}
$module.ExitJson()
