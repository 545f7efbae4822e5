package components

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
)

func TestWithoutServiceAwait(t *testing.T) {
	clusterIP := pulumi.Map{
		"metadata": pulumi.Map{"name": pulumi.String("istiod"), "annotations": pulumi.Map{"a": pulumi.String("b")}},
		"spec":     pulumi.Map{"type": pulumi.String("ClusterIP")},
	}
	got := withoutServiceAwait(clusterIP)
	assert.Equal(t, pulumi.Map{"a": pulumi.String("b"), skipAwait: pulumi.String("true")}, got["metadata"].(pulumi.Map)["annotations"],
		"the chart's annotations are kept and skipAwait added")
	assert.Equal(t, pulumi.String("istiod"), got["metadata"].(pulumi.Map)["name"])
	assert.Equal(t, clusterIP["spec"], got["spec"])
	assert.NotContains(t, clusterIP["metadata"].(pulumi.Map)["annotations"], skipAwait, "the input is not changed")

	noAnnotations := withoutServiceAwait(pulumi.Map{"metadata": pulumi.Map{"name": pulumi.String("webhook")}})
	assert.Equal(t, pulumi.Map{skipAwait: pulumi.String("true")}, noAnnotations["metadata"].(pulumi.Map)["annotations"])

	assert.Nil(t, withoutServiceAwait(pulumi.Map{
		"metadata": pulumi.Map{"name": pulumi.String("gateway")},
		"spec":     pulumi.Map{"type": pulumi.String("LoadBalancer")},
	}), "a LoadBalancer Service keeps its wait for an address")
	assert.Nil(t, withoutServiceAwait(pulumi.Map{
		"metadata": pulumi.Map{"annotations": pulumi.Map{skipAwait: pulumi.String("false")}},
	}), "a Service that states its own wait keeps it")
}
