module cgoshim.example/plugin

go 1.19
